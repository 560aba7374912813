import FeedbackWire
import SQLiteStore

/// Runs the processor's batches: reads polls from the source, applies them in one store transaction with
/// everything they change, commits the source's offsets after it, and rolls back and rewinds when a batch
/// fails. The stages it drives — de-duplication (`Dedup/`), attribution (`Attribution/`), profiles and
/// metrics (`Profiles/`, `Metrics/`), samples (`Samples/`) and sinks (`Sinks/`) — know nothing of it.
///
/// Not thread-safe: one caller drives it (``FeedbackProcessor``, or the ``ProcessorService``). The helper
/// threads it starts — the poll read ahead, the profile folder, the sample writer, the checkpointer — are
/// waited for before a batch ends, and stopped when it is released.
///
/// ```swift
/// let runner = try BatchRunner(source: source, configuration: configuration, profileSinks: [], metricsSinks: [])
/// let statistics = try runner.runBatch(timeout: .milliseconds(500))
/// ```
final class BatchRunner {
    let configuration: ProcessorConfiguration
    let source: any FeedbackSource
    let profileSinks: [any ProfileSink]
    let metricsSinks: [any MetricsSink]
    let failedSinks: [any FailedRecordSink]
    let store: ProcessorStore
    private var started = false
    /// Loaded from the store at the first batch, and again after a batch failed (its changes rolled back).
    private var attributionState: AttributionState?
    /// Folds each batch's events into profiles and metrics on its own thread; keeps the last committed
    /// batch's profiles for the next (forgotten when another connection has written the store since:
    /// `PRAGMA data_version`).
    let profiles: ProfileFolder
    var storeVersion: Int64?
    /// The next batch's first poll, read and decoded on another thread while a full batch ends.
    var nextBatchPoll: PollAhead?
    let counters: ProcessorCounters
    /// When each partition last delivered a record: idle ones stop holding the watermark back.
    var activity = PartitionActivity()
    /// Checkpoints the store's write-ahead log after each commit, on its own thread.
    let checkpointer: StoreCheckpointer
    /// `configuration.attributionWindow` and `affinityHalfLife` in milliseconds, read per event.
    let attributionWindowMs: Int64
    let affinityHalfLifeMs: Double

    init(
        source: any FeedbackSource, configuration: ProcessorConfiguration, profileSinks: [any ProfileSink],
        metricsSinks: [any MetricsSink], failedSinks: [any FailedRecordSink] = []
    ) throws(ProcessorError) {
        try configuration.validate()
        self.source = source
        self.profileSinks = profileSinks
        self.metricsSinks = metricsSinks
        self.failedSinks = failedSinks
        self.configuration = configuration
        attributionWindowMs = configuration.attributionWindow.milliseconds
        affinityHalfLifeMs = Double(configuration.affinityHalfLife.milliseconds)
        counters = ProcessorCounters(logger: configuration.logger)
        checkpointer = StoreCheckpointer(path: configuration.storePath, log: counters.log)
        store = try ProcessorStore(path: configuration.storePath)
        profiles = ProfileFolder(
            storePath: configuration.storePath, halfLifeMs: affinityHalfLifeMs, recentClicks: configuration.recentClicks
        )
    }

    deinit {
        // Nothing of this runner is left running or open once it is gone: the poll read ahead is done, and the
        // folder's connection to the store is closed here rather than whenever its queue lets go.
        nextBatchPoll?.waitIgnoringErrors()
        profiles.closeConnection()
        checkpointer.close()
    }

    /// The partitions the source reads now.
    var assignment: [Int32] {
        nextBatchPoll?.waitIgnoringErrors()  // the source serves one call at a time
        return source.assignment
    }

    /// One batch: polls until `batchSize` records or nothing more, applied in one transaction, then the
    /// source's offsets committed. A rebalance during the batch rolls it back and starts it again at once;
    /// any other failure rolls it back, rewinds the source and is thrown.
    func runBatch(timeout: Duration) throws(ProcessorError) -> ProcessorStatistics {
        if !started {
            try ProcessorError.map(ProcessorError.source) { try source.start(after: store.appliedOffsets()) }
            started = true
        }
        while true {
            var statistics = ProcessorStatistics()
            var first = PollAhead.Poll([], [])
            if let ahead = nextBatchPoll {
                nextBatchPoll = nil
                first = try ProcessorError.map(ProcessorError.source) { try counters.timed(.poll) { try ahead.wait() } }
            }
            if first.records.isEmpty {
                first = try ProcessorError.map(ProcessorError.source) {
                    try PollAhead.poll(
                        source, max: min(configuration.pollSize, configuration.batchSize), timeout: timeout)
                }
            }
            statistics.offset = try appliedOffset()
            guard !first.records.isEmpty else { return statistics }
            var polled = PolledRange()
            do {
                try inTransaction { try applyBatch(first, &statistics, &polled) }
            } catch {
                let rebalanced = error == .rebalanced
                try rewind(&polled, keepingOnly: rebalanced ? Set(source.assignment) : nil)
                counters.rolledBack(rebalanced: rebalanced, error: error)
                if rebalanced { continue }
                throw error
            }
            counters.committed(statistics)
            // The source serves one call at a time: the poll read ahead is done before the commit.
            nextBatchPoll?.waitIgnoringErrors()
            try ProcessorError.map(ProcessorError.source) { try source.commit(polled.lastRecords) }
            statistics.offset = try appliedOffset()
            return statistics
        }
    }

    /// Nothing of a failed batch was kept: its records are read again, or they would be skipped — and the
    /// next batch's first poll, if it was read ahead. After a rebalance only the partitions still assigned
    /// (`keepingOnly`): the others' new owner starts from the committed offsets.
    private func rewind(_ polled: inout PolledRange, keepingOnly assigned: Set<Int32>?) throws(ProcessorError) {
        if let ahead = nextBatchPoll {
            nextBatchPoll = nil
            if let next = try? ahead.wait() { polled.add(next.records) }
        }
        do {
            try source.rewind(polled.firstRecords.filter { assigned?.contains($0.partition) ?? true })
        } catch {
            throw .source("a batch failed and its records cannot be read again (\(error)): restart the processor")
        }
    }

    /// The highest input offset applied (for the local log: its offset).
    func appliedOffset() throws(ProcessorError) -> Int64 {
        try ProcessorError.map { try store.appliedOffsets().values.max() ?? 0 }
    }

    /// Runs `body` in one store transaction; if it fails, the attribution state (changed in memory) is
    /// reloaded from the store, as the transaction left it, before the next batch, and no profile is taken
    /// from memory.
    func inTransaction(_ body: () throws -> Void) throws(ProcessorError) {
        do {
            try store.connection.transaction(body)
            profiles.end(committed: true)
            checkpointer.checkpointSoon()
        } catch {
            attributionState = nil
            profiles.end(committed: false)
            throw ProcessorError(error)
        }
    }

    func attribution() throws -> AttributionState {
        if let attributionState { return attributionState }
        let state = try AttributionState(store: store.connection)
        attributionState = state
        return state
    }

    /// Emits a sample for every impression still waiting, whatever its window: for a final run over a
    /// finished stream. Returns the number of samples written.
    func closeAllWindows() throws(ProcessorError) -> Int {
        var count = 0
        try inTransaction {
            let state = try attribution()
            state.begin(segment: try store.nextCounter("segment"))
            let closed = state.close(through: Int64.max, windowMs: attributionWindowMs)
            try state.persist(to: store.connection)
            count = closed.count
            let part = ProcessorStore.padded(try store.nextCounter("batch"))
            try ProcessorError.map(ProcessorError.samples) {
                try SampleBatch(closed, level: Int32(configuration.samplesCompressionLevel)).write(
                    to: configuration.samplesDirectory, part: part)
            }
        }
        var statistics = ProcessorStatistics()
        statistics.samples = count
        counters.committed(statistics)
        return count
    }
}
