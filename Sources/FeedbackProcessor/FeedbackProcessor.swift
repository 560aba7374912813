import Feedback
import FeedbackLog

/// Consumes the feedback stream — the embedded local log or a Kafka consumer group — and keeps user
/// profiles, live metrics and training samples up to date.
///
/// Each batch of input is one SQLite transaction that also stores the input offsets and the ids of the
/// events applied, so a crash at any point rolls back to the last batch and the restart applies the rest
/// once: no double counting (duplicates by `event_id` are skipped within `deduplicationWindow`, records
/// already applied by offset) and no loss. Training samples of the batch are written — atomically, one file
/// per hour, named by a batch number kept in the store — before that transaction commits. The source's own
/// offsets (Kafka's) are committed after it. A record that is not an event is kept, with its reason, among the
/// failed records (``failedRecords(limit:)``) in the same transaction. The stages live in folders of their own
/// (`Input/`, `Batch/`, `Dedup/`, `Attribution/`, `Profiles/`, `Metrics/`, `Samples/`, `Failed/`, `Store/`,
/// `Sinks/`; see ARCHITECTURE.md);
/// this type is their façade.
///
/// ```swift
/// let processor = try FeedbackProcessor(
///     log: LocalLog(configuration: .init(path: "feedback-data/events.sqlite")),
///     configuration: .init(storePath: "feedback-data/processor.sqlite", samplesDirectory: "feedback-data/samples"))
/// let statistics = try processor.processAvailable()
/// let profile = try processor.profile(user: "user_1")
/// ```
public final class FeedbackProcessor {
    public var configuration: ProcessorConfiguration { runner.configuration }
    let runner: BatchRunner

    /// A processor over the embedded local log.
    public convenience init(
        log: LocalLog, configuration: ProcessorConfiguration, profileSinks: [any ProfileSink] = [],
        metricsSinks: [any MetricsSink] = [], failedSinks: [any FailedRecordSink] = []
    ) throws(ProcessorError) {
        try self.init(
            source: LocalLogSource(log: log), configuration: configuration, profileSinks: profileSinks,
            metricsSinks: metricsSinks, failedSinks: failedSinks)
    }

    /// A processor over `source`; profiles are also published to `profileSinks` (Redis) and live metrics
    /// to `metricsSinks` (ClickHouse) and refused records to `failedSinks` (a dead-letter topic) every batch,
    /// inside its transaction.
    public init(
        source: any FeedbackSource, configuration: ProcessorConfiguration, profileSinks: [any ProfileSink] = [],
        metricsSinks: [any MetricsSink] = [], failedSinks: [any FailedRecordSink] = []
    ) throws(ProcessorError) {
        runner = try BatchRunner(
            source: source, configuration: configuration, profileSinks: profileSinks, metricsSinks: metricsSinks,
            failedSinks: failedSinks)
    }

    /// Processes until the source has nothing more within `idle` (the local log: at once); returns what it did.
    @discardableResult
    public func processAvailable(idle: Duration = .milliseconds(500)) throws(ProcessorError) -> ProcessorStatistics {
        var total = ProcessorStatistics()
        while true {
            let batch = try processBatch(timeout: idle)
            total.add(batch)
            if batch.processed + batch.duplicates + batch.failed == 0 { return total }
        }
    }

    /// Processes one batch in one transaction — polls of at most `pollSize` records (waiting up to `timeout`
    /// for the first, then taking only what is ready) until `batchSize` records or nothing more — then
    /// commits the source's offsets. A failed batch is rolled back, and read again by the next call.
    @discardableResult
    public func processBatch(timeout: Duration = .milliseconds(500)) throws(ProcessorError) -> ProcessorStatistics {
        try runner.runBatch(timeout: timeout)
    }

    /// Emits a sample for every impression still waiting, whatever its window: for a final run over a
    /// finished stream (end of day, tests). Returns the number of samples written.
    @discardableResult
    public func closeAllWindows() throws(ProcessorError) -> Int {
        try runner.closeAllWindows()
    }

    /// The profile of `user` (a user id, or a device id for anonymous traffic); nil if never seen.
    public func profile(user: String) throws(ProcessorError) -> UserProfile? {
        try ProcessorError.map {
            try StoredProfile.read(user: user, from: runner.store.connection)?.profile(
                user: user, halfLifeMs: runner.affinityHalfLifeMs)
        }
    }

    /// The most recent `limit` metric windows, newest minute first.
    public func metrics(limit: Int = 20) throws(ProcessorError) -> [MetricsWindow] {
        try ProcessorError.map { try MetricsStore.latest(limit, in: runner.store.connection) }
    }

    /// The records refused so far (not feedback events, or over the wire format's limits), with their reasons,
    /// in partition and offset order.
    public func failedRecords(limit: Int = 100) throws(ProcessorError) -> [FailedRecord] {
        try ProcessorError.map { try FailedStore.read(from: runner.store.connection, limit: limit) }
    }

    /// How many refused records the store keeps.
    public func failedCount() throws(ProcessorError) -> Int {
        try ProcessorError.map { try FailedStore.count(in: runner.store.connection) }
    }

    /// Forgets failed records that were fed back corrected (`feedback failed redrive`); returns how many.
    @discardableResult
    public func forgetFailed(_ places: [(partition: Int32, offset: Int64)]) throws(ProcessorError) -> Int {
        try ProcessorError.map { try FailedStore.remove(places, from: runner.store.connection) }
    }

    /// The last input offset applied, per partition.
    public func appliedOffsets() throws(ProcessorError) -> [Int32: Int64] {
        try ProcessorError.map { try runner.store.appliedOffsets() }
    }

    /// The highest input offset applied (for the local log: its offset).
    public var offset: Int64 { (try? runner.appliedOffset()) ?? 0 }

    /// The partitions the source currently reads (a Kafka consumer's assignment; [0] for the local log).
    public var sourceAssignment: [Int32] { runner.assignment }
}
