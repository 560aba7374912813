import FeedbackWire
import Logging

/// How the processor aggregates: windows, decay and bounds. Every field has a default.
///
/// ```swift
/// var configuration = ProcessorConfiguration(storePath: "feedback-data/processor.sqlite", samplesDirectory: "feedback-data/samples")
/// configuration.attributionWindow = .seconds(15 * 60)
/// ```
public struct ProcessorConfiguration: Sendable {
    /// The embedded store (SQLite): profiles, metrics, attribution state and the input offset.
    public var storePath: String
    /// Root of the training samples: `dt=YYYY-MM-DD/hour=HH/part-<offset>.jsonl.gz`.
    public var samplesDirectory: String
    /// How long after an impression (event time) clicks and conversions still count for it.
    public var attributionWindow: Duration = .seconds(30 * 60)
    /// Half-life of the label affinities in user profiles.
    public var affinityHalfLife: Duration = .seconds(7 * 24 * 3600)
    /// Recent clicked items kept per user.
    public var recentClicks: Int = 20
    /// Event ids remembered for de-duplication, by event time.
    public var deduplicationWindow: Duration = .seconds(24 * 3600)
    /// gzip level of the sample files, 1 (fastest) to 9 (smallest). Level 1 (ISA-L's igzip) compresses
    /// seed-format samples at 1.0–1.3 GB/s, 12.5× smaller than the JSON; libdeflate's level 6 at ~150 MB/s,
    /// 16.8×: the processor spends its time keeping up, the files are read once. See `Deflate`.
    public var samplesCompressionLevel: Int = 1
    /// Input records per transaction (at most: a batch ends early when the source has nothing more). Larger
    /// batches share one commit (an fsync) and one write per touched profile among more events, and hold
    /// more samples until they end (~50 MB of JSON lines for 250,000 events).
    public var batchSize: Int = 250_000
    /// How long a batch waits for more records when a poll finds none ready, before it ends. A batch's end
    /// (its writes and commit, 30–100 ms) costs the same however few records it holds, and a consumer
    /// catching up on Kafka gets its records in bursts, one fetch at a time: ending at the first empty poll
    /// made 6–7 batches of 1M events, not 4, about 7 % of the time. The wait is on the reading thread, so
    /// it delays only a batch's end, never its events; zero ends a batch at the first empty poll. (The
    /// local log has no bursts: everything written is ready.)
    public var batchLinger: Duration = .milliseconds(20)
    /// Records per poll of the source. A batch takes polls until `batchSize` records or nothing more is
    /// ready; each poll's records are decoded and applied at once, so a batch holds its aggregates, not its
    /// records.
    public var pollSize: Int = 10_000
    /// How long an assigned partition may deliver nothing before it stops holding the watermark back (nil:
    /// never, every partition must move for a window to close). See `Batch/PartitionActivity`.
    public var partitionIdleTimeout: Duration? = .seconds(60)
    /// Where the processor logs what it skips (records that are not feedback events, rolled-back batches),
    /// at most once a second per kind.
    public var logger = Logger(label: "feedback.processor")

    public init(storePath: String, samplesDirectory: String) {
        self.storePath = storePath
        self.samplesDirectory = samplesDirectory
    }

    /// Throws ``ProcessorError/configuration(_:)`` naming the first setting out of range and what to use.
    public func validate() throws(ProcessorError) {
        guard batchSize >= 1, pollSize >= 1 else {
            throw .configuration("batchSize is \(batchSize) and pollSize \(pollSize): use 1 or more records")
        }
        // Windows up to a century: event times span at most 10,000 years, so no window arithmetic overflows.
        let century = Int64(100 * 366 * 86_400) * 1000
        for (name, window) in [
            ("attributionWindow", attributionWindow), ("deduplicationWindow", deduplicationWindow),
            ("affinityHalfLife", affinityHalfLife),
        ] where !(1...century).contains(window.milliseconds) {
            throw .configuration("\(name) is \(window): use 1 ms to 100 years")
        }
        guard (.zero...Duration.seconds(60)).contains(batchLinger) else {
            throw .configuration("batchLinger is \(batchLinger): use 0 to 60 seconds")
        }
        if let partitionIdleTimeout,
            !(Duration.milliseconds(1)...Duration.seconds(86_400 * 7)).contains(partitionIdleTimeout)
        {
            throw .configuration(
                "partitionIdleTimeout is \(partitionIdleTimeout): use 1 ms to 7 days, or nil for never")
        }
        guard (1...9).contains(samplesCompressionLevel) else {
            throw .configuration(
                "samplesCompressionLevel is \(samplesCompressionLevel): use 1 (fastest) to 9 (smallest)")
        }
    }
}

extension Duration {
    /// Whole milliseconds, saturating at the ends of `Int64` (a window of `.seconds(.max)` means "forever").
    var milliseconds: Int64 {
        let (seconds, attoseconds) = components
        let (whole, overflow) = seconds.multipliedReportingOverflow(by: 1000)
        if overflow { return seconds < 0 ? .min : .max }
        return whole.addingReportingOverflow(attoseconds / 1_000_000_000_000_000).overflow
            ? (seconds < 0 ? .min : .max) : whole + attoseconds / 1_000_000_000_000_000
    }
}
