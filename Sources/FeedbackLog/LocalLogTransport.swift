import Feedback
import Foundation
import Logging
import Synchronization

/// The embedded default transport: events go to a local log on disk (no external service), from which
/// the stream processor — or anyone with a ``LogConsumer`` — reads them with committed offsets.
///
/// In best-effort mode the collector's sender hands events over one by one and they are committed in
/// groups (at most `commitEvery`, and whenever the collector's buffer is drained); in durable mode
/// `persist` commits before `record` returns.
///
/// ```swift
/// let collector = try FeedbackCollector.embedded(path: "feedback-data/events.sqlite")
/// try collector.recordClick(itemID: "item_1", position: 0, context: context)
/// ```
public final class LocalLogTransport: DurableTransport {
    public let log: LocalLog
    private let commitEvery: Int
    private let pending = Mutex<[LogEntry]>([])
    private let commitLock = NSLock()  // commits in the order events were handed over
    private let tracker = Mutex<DeliveryTracker?>(nil)

    public init(log: LocalLog, commitEvery: Int = 2048) {
        self.log = log
        self.commitEvery = max(1, commitEvery)
    }

    public var name: String { "local-log" }

    public func start(tracker: DeliveryTracker) {
        self.tracker.withLock { $0 = tracker }
        updateGauges()
    }

    public func send(key: UnsafeRawBufferPointer?, payload: UnsafeRawBufferPointer, token: UInt)
        -> TransportSendResult
    {
        let count = pending.withLock {
            $0.append(LogEntry(key: key.map { Array($0) }, payload: Array(payload)))
            return $0.count
        }
        if count >= commitEvery { commitPending() }
        return .accepted
    }

    public func batchDidEnd() { commitPending() }

    public func flush(timeout: Duration) -> Bool {
        commitPending()
        return true
    }

    public func close() { commitPending() }

    public var supportsDurability: Bool { true }

    public func persist(_ events: [EncodedEvent]) throws(FeedbackError) {
        commitLock.lock()
        defer { commitLock.unlock() }
        do {
            try log.append(events)
        } catch {
            throw .storage(error.message)
        }
        tracker.withLock { $0 }?.delivered(count: events.count)
    }

    private func commitPending() {
        commitLock.lock()
        defer { commitLock.unlock() }
        let entries = pending.withLock { pending in
            defer { pending.removeAll(keepingCapacity: true) }
            return pending
        }
        guard !entries.isEmpty, let tracker = tracker.withLock({ $0 }) else { return }
        do {
            try log.append(entries)
            tracker.delivered(count: entries.count)
        } catch {
            tracker.dropped(
                entries.count, reason: error.kind == .full ? .logFull : .storageError, detail: error.message)
        }
    }

    private func updateGauges() {
        guard let tracker = tracker.withLock({ $0 }), let statistics = try? log.statistics() else { return }
        tracker.spoolEventsGauge.record(statistics.records)
        tracker.spoolBytesGauge.record(statistics.bytes)
    }
}

extension FeedbackCollector {
    /// A collector over the embedded local log at `path`: the default when no Kafka brokers are configured.
    ///
    /// ```swift
    /// let collector = try FeedbackCollector.embedded(path: "feedback-data/events.sqlite", durability: .durable)
    /// ```
    public static func embedded(
        path: String, maxBytes: Int = 1 << 30, durability: Configuration.Durability = .bestEffort,
        configuration: Configuration = .init()
    ) throws(FeedbackError) -> FeedbackCollector {
        let log: LocalLog
        do {
            log = try LocalLog(configuration: .init(path: path, maxBytes: maxBytes))
        } catch {
            throw .invalidConfiguration(error.message)
        }
        var configuration = configuration
        configuration.durability = durability
        return try FeedbackCollector(transport: LocalLogTransport(log: log), configuration: configuration)
    }
}
