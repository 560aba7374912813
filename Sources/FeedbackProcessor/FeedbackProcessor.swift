import Feedback
import FeedbackLog
import Foundation
import Kafka

/// Consumes the feedback stream — the embedded local log or a Kafka consumer group — and keeps user
/// profiles, live metrics and training samples up to date.
///
/// Each batch of input is one SQLite transaction that also stores the input offset and the ids of the
/// events applied, so a crash at any point rolls back to the last batch and the restart applies the rest
/// once: no double counting (duplicates by `event_id` are skipped within `deduplicationWindow`, records
/// already applied by offset) and no loss. Training samples of the batch are written — atomically, one
/// file per hour, named by a batch number kept in the store — before that transaction commits: a retry of
/// a rolled-back batch rewrites the same files, and no other batch ever reuses the name. The source's own offsets (Kafka's) are committed after the transaction.
///
/// ```swift
/// let processor = try FeedbackProcessor(
///     log: LocalLog(configuration: .init(path: "feedback-data/events.sqlite")),
///     configuration: .init(storePath: "feedback-data/processor.sqlite", samplesDirectory: "feedback-data/samples"))
/// let statistics = try processor.processAvailable()
/// let profile = try processor.profile(user: "user_1")
/// ```
public final class FeedbackProcessor {
    public let configuration: ProcessorConfiguration
    private let source: any FeedbackSource
    private let profileSinks: [any ProfileSink]
    private let metricsSinks: [any MetricsSink]
    let store: SQLiteConnection
    private var started = false
    /// Loaded from the store at the first batch, and again after a batch failed (its changes rolled back).
    private var attributionState: AttributionState?
    /// Folds each batch's events into profiles and metrics on its own thread; keeps the last committed
    /// batch's profiles for the next (forgotten when another connection has written the store since:
    /// `PRAGMA data_version`).
    let profiles: ProfileFolder
    private var storeVersion: Int64?
    /// The next batch's first poll, read and decoded on another thread while a full batch ends (its writes
    /// and commit, about a third of a batch, left the reading thread idle).
    private var nextBatchPoll: PollAhead?
    let counters: ProcessorMetrics
    /// Checkpoints the store's write-ahead log after each commit, on its own thread.
    let checkpointer: StoreCheckpointer
    /// `configuration.attributionWindow` and `affinityHalfLife` in milliseconds, read per event.
    let attributionWindowMs: Int64
    let affinityHalfLifeMs: Double

    /// A processor over the embedded local log.
    public convenience init(
        log: LocalLog, configuration: ProcessorConfiguration, profileSinks: [any ProfileSink] = [],
        metricsSinks: [any MetricsSink] = []
    ) throws {
        try self.init(
            source: LocalLogSource(log: log), configuration: configuration, profileSinks: profileSinks,
            metricsSinks: metricsSinks)
    }

    /// A processor over `source`; profiles are also published to `profileSinks` (Redis) and live metrics
    /// to `metricsSinks` (ClickHouse) every batch, inside its transaction.
    public init(
        source: any FeedbackSource, configuration: ProcessorConfiguration, profileSinks: [any ProfileSink] = [],
        metricsSinks: [any MetricsSink] = []
    ) throws {
        self.source = source
        self.profileSinks = profileSinks
        self.metricsSinks = metricsSinks
        self.configuration = configuration
        attributionWindowMs = configuration.attributionWindow.milliseconds
        affinityHalfLifeMs = Double(configuration.affinityHalfLife.milliseconds)
        counters = ProcessorMetrics(logger: configuration.logger)
        checkpointer = StoreCheckpointer(path: configuration.storePath, log: counters.log)
        guard configuration.batchSize >= 1, configuration.pollSize >= 1 else {
            throw ProcessorError.configuration(
                "batchSize is \(configuration.batchSize) and pollSize \(configuration.pollSize): use 1 or more records")
        }
        // Windows up to a century: event times span at most 10,000 years, so no window arithmetic overflows.
        let century = Int64(100 * 366 * 86_400) * 1000
        for (name, window) in [
            ("attributionWindow", configuration.attributionWindow),
            ("deduplicationWindow", configuration.deduplicationWindow),
            ("affinityHalfLife", configuration.affinityHalfLife),
        ] where !(1...century).contains(window.milliseconds) {
            throw ProcessorError.configuration("\(name) is \(window): use 1 ms to 100 years")
        }
        guard (.zero...Duration.seconds(60)).contains(configuration.batchLinger) else {
            throw ProcessorError.configuration("batchLinger is \(configuration.batchLinger): use 0 to 60 seconds")
        }
        guard (1...9).contains(configuration.samplesCompressionLevel) else {
            throw ProcessorError.configuration(
                "samplesCompressionLevel is \(configuration.samplesCompressionLevel): use 1 (fastest) to 9 (smallest)")
        }
        try FileManager.default.createDirectory(
            atPath: (configuration.storePath as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        store = try SQLiteConnection(path: configuration.storePath)
        profiles = ProfileFolder(
            storePath: configuration.storePath, halfLifeMs: affinityHalfLifeMs, recentClicks: configuration.recentClicks
        )
        // The busy timeout first: another connection closing (the last one checkpoints the WAL, briefly
        // holding the database exclusively) made the journal mode fail at once with "database is locked".
        try store.execute(
            """
            PRAGMA busy_timeout=10000;
            PRAGMA journal_mode=WAL;
            PRAGMA synchronous=FULL;
            PRAGMA cache_size=-65536;
            PRAGMA wal_autocheckpoint=0;
            """)
        try Self.prepareLayout(of: store)
    }

    deinit {
        // Nothing of this processor is left running or open once it is gone: the poll read ahead is done,
        // and the folder's connection to the store is closed here rather than whenever its queue lets go.
        nextBatchPoll?.waitIgnoringErrors()
        profiles.closeConnection()
        checkpointer.close()
    }

    /// The last input offset applied, per partition.
    public func appliedOffsets() throws(LocalLogError) -> [Int32: Int64] {
        var offsets: [Int32: Int64] = [:]
        for row in try store.query("SELECT partition, applied FROM offsets", []) {
            if case .int(let partition) = row[0], case .int(let offset) = row[1] { offsets[Int32(partition)] = offset }
        }
        return offsets
    }

    /// The partitions the source currently reads (a Kafka consumer's assignment; [0] for the local log).
    public var sourceAssignment: [Int32] {
        nextBatchPoll?.waitIgnoringErrors()  // the source serves one call at a time
        return source.assignment
    }

    /// The highest input offset applied (for the local log: its offset).
    public var offset: Int64 { ((try? appliedOffsets()) ?? [:]).values.max() ?? 0 }

    /// Processes until the source has nothing more within `idle` (the local log: at once); returns what it did.
    @discardableResult
    public func processAvailable(idle: Duration = .milliseconds(500)) throws -> ProcessorStatistics {
        var total = ProcessorStatistics()
        while true {
            let batch = try processBatch(timeout: idle)
            total.add(batch)
            if batch.processed + batch.duplicates + batch.invalid == 0 { return total }
        }
    }

    /// Processes one batch in one transaction — polls of at most `pollSize` records (waiting up to `timeout`
    /// for the first, then taking only what is ready) until `batchSize` records or nothing more — then
    /// commits the source's offsets.
    public func processBatch(timeout: Duration = .milliseconds(500)) throws -> ProcessorStatistics {
        if !started {
            try source.start(after: appliedOffsets())
            started = true
        }
        while true {
            var statistics = ProcessorStatistics()
            var records: [SourceRecord] = []
            var events: [DecodedEvent] = []
            if let ahead = nextBatchPoll {
                nextBatchPoll = nil
                (records, events) = try counters.timed(.poll) { try ahead.wait() }
            }
            if records.isEmpty {
                (records, events) = try PollAhead.poll(
                    source, max: min(configuration.pollSize, configuration.batchSize), timeout: timeout)
            }
            statistics.offset = offset
            guard !records.isEmpty else { return statistics }
            var polled = PolledRange()
            do {
                try processInTransaction(records, events, &statistics, &polled)
            } catch {
                // Nothing of the batch was kept: read it again, or it would be skipped — and the next batch's
                // first poll, if it was read ahead. After a rebalance, only the partitions still assigned (the
                // others' new owner starts from the committed offsets), at once: a rebalance is no failure.
                if let ahead = nextBatchPoll {
                    nextBatchPoll = nil
                    if let next = try? ahead.wait() { polled.add(next.records) }
                }
                let assigned = Set(source.assignment)
                let rebalanced = error.message == Self.rebalancedMessage
                do {
                    try source.rewind(polled.firstRecords.filter { !rebalanced || assigned.contains($0.partition) })
                } catch {
                    throw ProcessorError.storage(
                        "a batch failed and its records cannot be read again (\(error)): restart the processor")
                }
                counters.rolledBack(rebalanced: rebalanced, error: error)
                if rebalanced { continue }
                throw error
            }
            counters.committed(statistics)
            // The source serves one call at a time: the poll read ahead is done before the commit.
            nextBatchPoll?.waitIgnoringErrors()
            try source.commit(polled.lastRecords)
            statistics.offset = offset
            return statistics
        }
    }

    /// The first and last record read per partition in a batch (payloads dropped): what `rewind` and
    /// `commit` need, without holding every record of a batch that spans many polls.
    struct PolledRange {
        private var first: [Int32: Int64] = [:]
        private var last: [Int32: Int64] = [:]

        mutating func add(_ records: [SourceRecord]) {
            // Records come in runs of one partition: one look-up per run.
            var start = records.startIndex
            while start < records.endIndex {
                let partition = records[start].partition
                var lowest = records[start].offset
                var highest = lowest
                var end = start + 1
                while end < records.endIndex, records[end].partition == partition {
                    lowest = min(lowest, records[end].offset)
                    highest = max(highest, records[end].offset)
                    end += 1
                }
                first[partition] = min(first[partition] ?? .max, lowest)
                last[partition] = max(last[partition] ?? .min, highest)
                start = end
            }
        }

        var firstRecords: [SourceRecord] {
            first.map { SourceRecord(partition: $0.key, offset: $0.value, payload: []) }
        }
        var lastRecords: [SourceRecord] { last.map { SourceRecord(partition: $0.key, offset: $0.value, payload: []) } }
    }

    /// The assignment changed during a batch (a rebalance): the batch is rolled back, as its records of a
    /// partition taken away now belong to another member, which starts from the committed offsets (and a
    /// partition added would have been left out of the batch's watermark).
    static let rebalancedMessage = "the group rebalanced during the batch"

    /// The body of `processBatch`: `records` and the polls after them applied in one store transaction.
    func processInTransaction(
        _ records: [SourceRecord], _ decoded: [DecodedEvent], _ statistics: inout ProcessorStatistics,
        _ polled: inout PolledRange
    ) throws(LocalLogError) {
        try inTransaction { () throws(LocalLogError) in
            let version = try store.queryInt("PRAGMA data_version", [])
            profiles.begin(forgettingCommitted: version != storeVersion)
            storeVersion = version
            var applied = try appliedOffsets()
            // Event time per partition; the watermark is the oldest assigned partition's newest event, so a
            // window closes only once every partition has moved past it (events are in order within a
            // partition; an assigned partition not read yet holds it at the start of time).
            var newest = try newestPerPartition()
            let assigned = source.assignment
            func currentWatermark() -> Int64 {
                let partitions = assigned.isEmpty ? Array(newest.keys) : assigned
                return partitions.map { newest[$0] ?? Int64.min }.min() ?? Int64.min
            }
            let watermarkBefore = currentWatermark()
            try attribution().begin(segment: try nextCounter("segment"))
            var batch = BatchState(seen: SeenIDs(origin: store.path))
            var records = records
            polled.add(records)
            var total = records.count
            var events = decoded
            var retired: PollAhead.Poll?  // applied: freed on another thread
            // Windows close after every poll, so that their samples are encoded on another thread while the
            // next poll is applied (when a window closes does not change its sample: see `closeWindows`).
            let samples = SampleWriter(level: Int32(configuration.samplesCompressionLevel))
            var closedThrough = watermarkBefore
            func closeReadyWindows() throws(LocalLogError) {
                let watermark = currentWatermark()
                guard watermark > closedThrough else { return }
                closedThrough = watermark
                let closed = try closeWindows(through: watermark - attributionWindowMs)
                statistics.samples += closed.count
                samples.add(closed)
            }
            while !records.isEmpty {
                // The next poll is read and decoded on another thread while this one is applied.
                let ahead =
                    total < configuration.batchSize
                    ? PollAhead(
                        source, max: min(configuration.pollSize, configuration.batchSize - total),
                        linger: configuration.batchLinger, retiring: retired)
                    : nil
                if ahead != nil {
                    retired = nil
                } else {
                    // The batch is full: the next one's first poll is read while this one ends.
                    nextBatchPoll = PollAhead(
                        source, max: min(configuration.pollSize, configuration.batchSize),
                        retiring: retired)
                    retired = nil
                }
                do throws(LocalLogError) {
                    try apply(
                        records, events, applied: &applied, newest: &newest, batch: &batch, statistics: &statistics)
                    try closeReadyWindows()
                } catch {
                    // The source is not left in use by the other thread, and what it read is rewound too.
                    if let next = try? ahead?.wait() { polled.add(next.records) }
                    throw error
                }
                guard let ahead else { break }
                let next: PollAhead.Poll
                do { next = try counters.timed(.poll) { try ahead.wait() } } catch {
                    throw LocalLogError(kind: .storage, message: "\(error)")
                }
                polled.add(next.records)
                total += next.records.count
                // Any change (a partition taken away, or a new one whose events could be older than this
                // batch's watermark) means a rebalance: start the batch again with the new assignment.
                if source.assignment != assigned {
                    throw LocalLogError(kind: .storage, message: Self.rebalancedMessage)
                }
                retired = (records, events)
                records = next.records
                events = next.events
            }
            // The last polls are freed on another thread.
            _ = BackgroundWork { [retired, records, events] in withExtendedLifetime((retired, records, events)) {} }
            (retired, records, events) = (nil, [], [])
            // Profiles are encoded on the folder's thread meanwhile.
            let folding = profiles.finish()
            defer { folding.waitIgnoringErrors() }
            let watermark = currentWatermark()
            let hasWatermark = watermark > Int64.min / 2  // none yet while an assigned partition is unread
            if hasWatermark { try attribution().expireActions(before: watermark - 2 * attributionWindowMs) }
            // The batch's attribution segments are encoded, and its sample files (gzip, fsynced files)
            // written, on other threads while its profiles, metrics and offsets go to the store. Neither is
            // ever left running: a retry of this batch rewrites the same files.
            let segments = try attribution().encodeCurrent()
            defer { segments.waitIgnoringErrors() }
            // Named by a batch number from the store: a rolled-back retry reuses it (and rewrites the same
            // files), while a later batch — even one starting at a redelivered record — never does.
            let sampleFiles = samples.write(
                to: configuration.samplesDirectory, part: Self.padded(try nextCounter("batch")))
            defer { sampleFiles.waitIgnoringErrors() }
            let folded: ProfileFolder.Folded
            do { folded = try counters.timed(.profiles) { try folding.wait() } } catch {
                throw error as? LocalLogError ?? LocalLogError(kind: .storage, message: "\(error)")
            }
            try write(batch, folded)
            let touched = folded.profiles.keys.map(\.name)
            for (partition, offset) in applied {
                try store.run(
                    "INSERT INTO offsets (partition, applied, newest_ms) VALUES (?, ?, ?) "
                        + "ON CONFLICT(partition) DO UPDATE SET applied = excluded.applied, newest_ms = excluded.newest_ms",
                    [.int(Int64(partition)), .int(offset), .int(newest[partition] ?? 0)])
            }
            if hasWatermark {
                try SeenIDs.expire(before: watermark - configuration.deduplicationWindow.milliseconds, in: store)
            }
            let encoded: AttributionState.CurrentSegments
            do { encoded = try counters.timed(.state) { try segments.wait() } } catch {
                throw LocalLogError(kind: .storage, message: "\(error)")
            }
            try attribution().persist(to: store, current: encoded)
            do {
                try counters.timed(.samples) { try sampleFiles.wait() }
                if !profileSinks.isEmpty {
                    let profiles = try touched.sorted().compactMap { try profile(user: $0) }
                    for sink in profileSinks { try sink.write(profiles) }
                }
                if !metricsSinks.isEmpty {
                    let windows = try metrics(minutes: Set(folded.metrics.keys.map(\.minute)))
                    let version = try nextCounter("metrics_version")
                    for sink in metricsSinks { try sink.write(windows, version: version) }
                }
            } catch {
                throw LocalLogError(kind: .storage, message: "\(error)")
            }
        }
    }

    /// Runs `body` in one store transaction; if it fails, the attribution state (changed in memory) is
    /// reloaded from the store, as the transaction left it, before the next batch, and no profile is taken
    /// from memory.
    func inTransaction(_ body: () throws(LocalLogError) -> Void) throws(LocalLogError) {
        do {
            try store.transaction(body)
            profiles.end(committed: true)
            checkpointer.checkpointSoon()
        } catch {
            attributionState = nil
            profiles.end(committed: false)
            throw error
        }
    }

    func attribution() throws(LocalLogError) -> AttributionState {
        if let attributionState { return attributionState }
        let state = try AttributionState(store: store)
        attributionState = state
        return state
    }

    // MARK: - State

    /// A number that increases with every call in a committed transaction (rolled back with a failed one,
    /// so a retried batch gets the same number again).
    func nextCounter(_ name: String) throws(LocalLogError) -> Int64 {
        try store.run(
            "INSERT INTO counters (name, value) VALUES (?, 1) ON CONFLICT(name) DO UPDATE SET value = value + 1",
            [.text(name)])
        return try store.queryInt("SELECT value FROM counters WHERE name = ?", [.text(name)]) ?? 1
    }

    func newestPerPartition() throws(LocalLogError) -> [Int32: Int64] {
        var newest: [Int32: Int64] = [:]
        for row in try store.query("SELECT partition, newest_ms FROM offsets", []) {
            if case .int(let partition) = row[0], case .int(let ms) = row[1] { newest[Int32(partition)] = ms }
        }
        return newest
    }

    /// `value` in decimal, zero-padded to 12 digits (sortable file names).
    static func padded(_ value: Int64) -> String {
        let digits = String(value)
        return String(repeating: "0", count: max(0, 12 - digits.count)) + digits
    }
}
