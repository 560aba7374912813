import Synchronization

/// Reads a local log as a named consumer: from its last committed offset, in order, with explicit commits
/// (at-least-once: commit only after your outputs are durable).
///
/// ```swift
/// let consumer = try LogConsumer(log: log, name: "processor")
/// while let records = try await consumer.poll(max: 1000, timeout: .seconds(1)), !records.isEmpty {
///     try handle(records)
///     try consumer.commit(through: records.last!.offset)
/// }
/// ```
public final class LogConsumer: Sendable {
    public let log: LocalLog
    public let name: String
    private let position: Mutex<Int64>

    /// Starts at the consumer's committed offset (the beginning for a new consumer).
    public init(log: LocalLog, name: String) throws(LocalLogError) {
        self.log = log
        self.name = name
        self.position = Mutex(try log.committedOffset(consumer: name))
    }

    /// The offset of the last record returned by `poll`.
    public var currentPosition: Int64 { position.withLock { $0 } }

    /// The next records after the current position, at most `max`; waits up to `timeout` for some to arrive.
    public func poll(max: Int = 1000, timeout: Duration = .zero) async throws -> [LogRecord] {
        let deadline = ContinuousClock.now + timeout
        while true {
            let after = position.withLock { $0 }
            let records = try log.read(after: after, limit: max)
            if let last = records.last {
                position.withLock { $0 = last.offset }
                return records
            }
            if ContinuousClock.now >= deadline { return [] }
            try await Task.sleep(for: .milliseconds(20))
        }
    }

    /// Commits everything up to and including `offset`: a restarted consumer resumes after it.
    public func commit(through offset: Int64) throws(LocalLogError) {
        try log.commit(consumer: name, offset: offset)
    }

    /// Moves the read position back to the committed offset (after a failed batch, to read it again).
    public func rewind() throws(LocalLogError) {
        let committed = try log.committedOffset(consumer: name)
        position.withLock { $0 = committed }
    }
}
