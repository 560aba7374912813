import Feedback
import Logging
import Metrics

/// The processor's counters (swift-metrics; Prometheus through `feedback process --metrics-file`) and its
/// rate-limited log of what it skips. An input record that is not a feedback event is dropped: it is
/// counted and logged with where it sits, never lost silently.
///
/// Counted when a batch commits, so a rolled-back batch read again is not counted twice.
struct ProcessorCounters: Sendable {
    let log: RateLimitedLogger
    private let processed = Counter(label: "feedback_processor_events_total", dimensions: [("outcome", "processed")])
    private let duplicates = Counter(label: "feedback_processor_events_total", dimensions: [("outcome", "duplicate")])
    private let failed = Counter(label: "feedback_processor_events_total", dimensions: [("outcome", "failed")])
    private let samples = Counter(label: "feedback_processor_samples_total")
    private let sinkRefusals = Counter(label: "feedback_processor_sink_refused_total")
    private let failedBatches = Counter(
        label: "feedback_processor_batches_rolled_back_total", dimensions: [("reason", "failed")])
    private let rebalancedBatches = Counter(
        label: "feedback_processor_batches_rolled_back_total", dimensions: [("reason", "rebalanced")])

    /// Time the processor's own thread waited for its helper threads: for the next poll to be read and
    /// decoded, for the batch's samples to be encoded and written, for its state to be encoded, for its
    /// profiles to be folded. Large
    /// waits mean the helpers, not the processor's thread, limit throughput.
    private let waitedForPoll = FloatingPointCounter(
        label: "feedback_processor_waited_seconds_total", dimensions: [("for", "poll")])
    private let waitedForSamples = FloatingPointCounter(
        label: "feedback_processor_waited_seconds_total", dimensions: [("for", "samples")])
    private let waitedForState = FloatingPointCounter(
        label: "feedback_processor_waited_seconds_total", dimensions: [("for", "state")])
    private let waitedForProfiles = FloatingPointCounter(
        label: "feedback_processor_waited_seconds_total", dimensions: [("for", "profiles")])

    enum Wait { case poll, samples, state, profiles }

    /// `wait()` timed as a wait `for` a helper.
    func timed<Value>(_ wait: Wait, _ body: () throws -> Value) rethrows -> Value {
        let start = ContinuousClock.now
        defer {
            let (seconds, attoseconds) = (ContinuousClock.now - start).components
            let waited = Double(seconds) + Double(attoseconds) / 1e18
            switch wait {
            case .poll: waitedForPoll.increment(by: waited)
            case .samples: waitedForSamples.increment(by: waited)
            case .state: waitedForState.increment(by: waited)
            case .profiles: waitedForProfiles.increment(by: waited)
            }
        }
        return try body()
    }

    init(logger: Logger) {
        log = RateLimitedLogger(logger: logger)
    }

    /// A batch committed with these counts.
    func committed(_ statistics: ProcessorStatistics) {
        processed.increment(by: statistics.processed)
        duplicates.increment(by: statistics.duplicates)
        failed.increment(by: statistics.failed)
        samples.increment(by: statistics.samples)
    }

    /// An input record that is not a feedback event (logged here; kept in the store's failed records and
    /// counted when its batch commits).
    func failedRecord(_ record: FailedRecord) {
        log.warning(
            key: "failed:" + record.kind,
            "input record refused: kept with its reason among the failed records (feedback failed lists them)",
            metadata: [
                "partition": "\(record.partition)", "offset": "\(record.offset)", "reason": "\(record.reason)",
                "payload_prefix": "\(String(decoding: record.payload.prefix(120), as: UTF8.self))",
            ])
    }

    /// An item a sink refused for good (kept among the failed records as the batch commits).
    func sinkRefused(_ record: FailedRecord) {
        sinkRefusals.increment()
        log.warning(
            key: "refused:" + record.source,
            "a sink refused an item for good: kept among the failed records (feedback failed lists them)",
            metadata: ["sink": "\(record.source)", "reason": "\(record.reason)"])
    }

    /// A batch was rolled back: read again at once after a rebalance, or on the next call after a failure.
    func rolledBack(rebalanced: Bool, error: any Error) {
        if rebalanced {
            rebalancedBatches.increment()
            log.warning(key: "rebalanced", "consumer group rebalanced during a batch: batch read again")
        } else {
            failedBatches.increment()
            log.error(key: "failed", "batch failed and was rolled back", metadata: ["error": "\(error)"])
        }
    }
}
