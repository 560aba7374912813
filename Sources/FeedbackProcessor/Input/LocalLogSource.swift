import FeedbackLog

/// The embedded local log as a source (one partition, 0). The processor's store is the offset of record.
public final class LocalLogSource: FeedbackSource {
    public let log: LocalLog
    private var position: Int64 = 0

    public init(log: LocalLog) { self.log = log }

    public var name: String { "local-log" }

    public func start(after applied: [Int32: Int64]) throws { position = applied[0] ?? 0 }

    public func poll(max: Int, timeout: Duration) throws -> [SourceRecord] {
        let records = try log.read(after: position, limit: max)
        if let last = records.last { position = last.offset }
        return records.map {
            SourceRecord(partition: 0, offset: $0.offset, payload: $0.payload, arrivalMs: $0.appendedMs)
        }
    }

    public func commit(_ records: [SourceRecord]) throws {}

    public func rewind(_ records: [SourceRecord]) throws {
        if let first = records.lazy.map(\.offset).min() { position = min(position, first - 1) }
    }

    public var assignment: [Int32] { [0] }
}
