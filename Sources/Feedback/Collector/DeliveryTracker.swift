import Logging
import Metrics
import Synchronization

/// Counts what happens to events, in memory and as swift-metrics metrics; transports report each outcome
/// here exactly once.
///
/// A transport receives its tracker in ``FeedbackTransport/start(tracker:)`` and, for every event it
/// accepted, calls one of ``delivered(token:)``, ``spooled(count:)``, ``failed(token:reason:)`` or
/// ``dropped(_:reason:detail:)``. Metrics (all prefixed `feedback_`): `events_recorded_total`,
/// `events_delivered_total`, `events_spooled_total`, `events_replayed_total`,
/// `events_failed_total{reason}`, `events_dropped_total{reason}`, `delivery_latency_seconds`,
/// and the gauges `buffered_events`, `spool_events`, `spool_bytes`.
public final class DeliveryTracker: Sendable {
    let recorded = Atomic<Int>(0)
    let sent = Atomic<Int>(0)
    private let deliveredCount = Atomic<Int>(0)
    private let spooledCount = Atomic<Int>(0)
    private let replayedCount = Atomic<Int>(0)
    private let replayRefusedCount = Atomic<Int>(0)
    private let dropCounts = Mutex<[DropReason: Int]>([:])
    private let failureCounts = Mutex<[String: (count: Int, counter: Counter)]>([:])
    private let dropCounters = Mutex<[DropReason: Counter]>([:])
    private let log: RateLimitedLogger

    private let recordedCounter = Counter(label: "feedback_events_recorded_total")
    private let deliveredCounter = Counter(label: "feedback_events_delivered_total")
    private let spooledCounter = Counter(label: "feedback_events_spooled_total")
    private let replayedCounter = Counter(label: "feedback_events_replayed_total")
    private let replayRefusedCounter = Counter(label: "feedback_events_replay_refused_total")
    private let latency = Metrics.Timer(label: "feedback_delivery_latency_seconds", preferredDisplayUnit: .seconds)
    let bufferedGauge = Gauge(label: "feedback_buffered_events")
    /// Events held in the local spool (set by transports that spool).
    public let spoolEventsGauge = Gauge(label: "feedback_spool_events")
    /// Bytes held in the local spool.
    public let spoolBytesGauge = Gauge(label: "feedback_spool_bytes")

    init(logger: Logger) {
        self.log = RateLimitedLogger(logger: logger)
    }

    func countRecorded(_ count: Int) {
        recorded.add(count, ordering: .relaxed)
        recordedCounter.increment(by: count)
    }

    /// The transport confirmed the event handed over with `token` (the token is its record time, from
    /// which the delivery latency is measured).
    public func delivered(token: UInt) {
        deliveredCount.add(1, ordering: .relaxed)
        deliveredCounter.increment()
        if token != 0 {
            latency.recordNanoseconds(Int64(truncatingIfNeeded: MonotonicClock.nanoseconds() &- UInt64(token)))
        }
    }

    /// The transport confirmed the events handed over with these tokens, at once (a batch of delivery
    /// reports): one counter update and one clock reading for all of them.
    public func delivered(tokens: [UInt]) {
        deliveredCount.add(tokens.count, ordering: .relaxed)
        deliveredCounter.increment(by: tokens.count)
        let now = MonotonicClock.nanoseconds()
        for token in tokens where token != 0 {
            latency.recordNanoseconds(Int64(truncatingIfNeeded: now &- UInt64(token)))
        }
    }

    /// `count` events were confirmed at once, without per-event latency (a local log commit).
    public func delivered(count: Int) {
        deliveredCount.add(count, ordering: .relaxed)
        deliveredCounter.increment(by: count)
    }

    /// `count` events went to the local spool instead of their destination; a replayer ships them later.
    public func spooled(count: Int) {
        spooledCount.add(count, ordering: .relaxed)
        spooledCounter.increment(by: count)
    }

    /// `count` spooled events (of this or an earlier process) were shipped and confirmed.
    public func replayed(count: Int) {
        replayedCount.add(count, ordering: .relaxed)
        replayedCounter.increment(by: count)
    }

    /// A spooled event was refused for good by its destination when replayed: counted and logged (at most once
    /// a second), with `detail` saying which and why.
    public func refusedOnReplay(detail: @autoclosure () -> String) {
        replayRefusedCount.add(1, ordering: .relaxed)
        replayRefusedCounter.increment()
        log.error(
            key: "replay_refused", "a spooled event was refused for good by the destination and left the spool",
            metadata: ["detail": "\(detail())"])
    }

    /// The transport gave up on the event handed over with `token`; `reason` names why (e.g. a Kafka error).
    public func failed(token: UInt, reason: String) {
        failureCounts.withLock { counts in
            if counts[reason] == nil {
                counts[reason] = (0, Counter(label: "feedback_events_failed_total", dimensions: [("reason", reason)]))
            }
            counts[reason]!.count += 1
            counts[reason]!.counter.increment()
        }
        log.error(key: "failed:" + reason, "feedback event delivery failed", metadata: ["reason": "\(reason)"])
    }

    /// `count` events were dropped for `reason`; logged at most once a second per reason.
    public func dropped(_ count: Int, reason: DropReason, detail: @autoclosure () -> String = "") {
        dropCounts.withLock { $0[reason, default: 0] += count }
        dropCounters.withLock { counters in
            if counters[reason] == nil {
                counters[reason] = Counter(
                    label: "feedback_events_dropped_total", dimensions: [("reason", reason.rawValue)])
            }
            counters[reason]!.increment(by: count)
        }
        log.warning(
            key: "dropped:" + reason.rawValue, "feedback events dropped",
            metadata: ["reason": "\(reason.rawValue)", "count": "\(count)", "detail": "\(detail())"])
    }

    func snapshot(buffered: Int) -> CollectorStatistics {
        let delivered = deliveredCount.load(ordering: .relaxed)
        let failures = failureCounts.withLock { $0.mapValues(\.count) }
        let failed = failures.values.reduce(0, +)
        return CollectorStatistics(
            recorded: recorded.load(ordering: .relaxed),
            delivered: delivered,
            spooled: spooledCount.load(ordering: .relaxed),
            replayed: replayedCount.load(ordering: .relaxed),
            replayRefused: replayRefusedCount.load(ordering: .relaxed),
            failedByReason: failures,
            droppedByReason: dropCounts.withLock { $0 },
            buffered: buffered,
            inFlight: max(0, sent.load(ordering: .relaxed) - delivered - failed))
    }
}
