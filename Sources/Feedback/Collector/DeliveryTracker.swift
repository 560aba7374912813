import Logging
import Synchronization

/// Counts what happens to events; transports report each outcome here exactly once.
///
/// A transport receives its tracker in ``FeedbackTransport/start(tracker:)`` and calls
/// ``delivered(token:)`` or ``failed(token:reason:)`` once for every event it accepted in `send`.
public final class DeliveryTracker: Sendable {
    let recorded = Atomic<Int>(0)
    let sent = Atomic<Int>(0)
    let deliveredCount = Atomic<Int>(0)
    let failedCount = Atomic<Int>(0)
    private let dropCounts = Mutex<[DropReason: Int]>([:])
    private let failureCounts = Mutex<[String: Int]>([:])
    private let log: RateLimitedLogger

    init(logger: Logger) {
        self.log = RateLimitedLogger(logger: logger)
    }

    /// The transport confirmed the event handed over with `token`.
    public func delivered(token: UInt) {
        deliveredCount.add(1, ordering: .relaxed)
    }

    /// The transport gave up on the event handed over with `token`; `reason` names why (e.g. a Kafka error).
    public func failed(token: UInt, reason: String) {
        failedCount.add(1, ordering: .relaxed)
        failureCounts.withLock { $0[reason, default: 0] += 1 }
        log.error(key: "failed:" + reason, "feedback event delivery failed", metadata: ["reason": "\(reason)"])
    }

    func dropped(_ count: Int, reason: DropReason, detail: @autoclosure () -> String = "") {
        dropCounts.withLock { $0[reason, default: 0] += count }
        log.warning(
            key: "dropped:" + reason.rawValue, "feedback events dropped",
            metadata: ["reason": "\(reason.rawValue)", "count": "\(count)", "detail": "\(detail())"])
    }

    func snapshot(buffered: Int) -> CollectorStatistics {
        let delivered = deliveredCount.load(ordering: .relaxed)
        let failures = failureCounts.withLock { $0 }
        let failed = failures.values.reduce(0, +)
        return CollectorStatistics(
            recorded: recorded.load(ordering: .relaxed),
            delivered: delivered,
            failedByReason: failures,
            droppedByReason: dropCounts.withLock { $0 },
            buffered: buffered,
            inFlight: max(0, sent.load(ordering: .relaxed) - delivered - failed))
    }
}
