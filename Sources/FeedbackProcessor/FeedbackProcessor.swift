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
    private let store: SQLiteConnection
    private var started = false
    /// Loaded from the store at the first batch, and again after a batch failed (its changes rolled back).
    private var attributionState: AttributionState?
    /// Affinity feature names by `recall_source` label value (see `sourceFeatures`).
    private var featureNames: [String: [String]] = [:]
    /// Affinity feature names by category (see `categoryFeature`).
    private var categoryFeatureNames: [String: String] = [:]
    private let counters: ProcessorMetrics
    /// Shared by events with equal labels (decoded on another thread too).
    private let labelSets = LabelSets()

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
        counters = ProcessorMetrics(logger: configuration.logger)
        guard configuration.batchSize >= 1, configuration.pollSize >= 1 else {
            throw ProcessorError.configuration(
                "batchSize is \(configuration.batchSize) and pollSize \(configuration.pollSize): use 1 or more records")
        }
        guard (1...9).contains(configuration.samplesCompressionLevel) else {
            throw ProcessorError.configuration(
                "samplesCompressionLevel is \(configuration.samplesCompressionLevel): use 1 (fastest) to 9 (smallest)")
        }
        try FileManager.default.createDirectory(
            atPath: (configuration.storePath as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        store = try SQLiteConnection(path: configuration.storePath)
        try store.execute(
            """
            PRAGMA journal_mode=WAL;
            PRAGMA synchronous=FULL;
            PRAGMA busy_timeout=10000;
            PRAGMA cache_size=-65536;
            """)
        try Self.prepareLayout(of: store)
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
    public var sourceAssignment: [Int32] { source.assignment }

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
            let records = try source.poll(max: min(configuration.pollSize, configuration.batchSize), timeout: timeout)
            statistics.offset = offset
            guard !records.isEmpty else { return statistics }
            var polled = PolledRange()
            do {
                try processInTransaction(records, &statistics, &polled)
            } catch {
                // Nothing of the batch was kept: read it again, or it would be skipped. After a rebalance, only
                // the partitions still assigned (the others' new owner starts from the committed offsets), at
                // once: a rebalance is no failure.
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
    private func processInTransaction(
        _ records: [SourceRecord], _ statistics: inout ProcessorStatistics, _ polled: inout PolledRange
    ) throws(LocalLogError) {
        try inTransaction { () throws(LocalLogError) in
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
            var batch = BatchState()
            var records = records
            polled.add(records)
            var total = records.count
            var events = Self.decode(records, labelSets: labelSets)
            while !records.isEmpty {
                // The next poll is read and decoded on another thread while this one is applied.
                let ahead =
                    total < configuration.batchSize
                    ? PollAhead(
                        source, max: min(configuration.pollSize, configuration.batchSize - total), labelSets: labelSets)
                    : nil
                do throws(LocalLogError) {
                    try apply(
                        records, events, applied: &applied, newest: &newest, batch: &batch, statistics: &statistics)
                } catch {
                    // The source is not left in use by the other thread, and what it read is rewound too.
                    if let next = try? ahead?.wait() { polled.add(next.records) }
                    throw error
                }
                guard let ahead else { break }
                let next: PollAhead.Poll
                do { next = try ahead.wait() } catch { throw LocalLogError(kind: .storage, message: "\(error)") }
                polled.add(next.records)
                total += next.records.count
                // Any change (a partition taken away, or a new one whose events could be older than this
                // batch's watermark) means a rebalance: start the batch again with the new assignment.
                if source.assignment != assigned {
                    throw LocalLogError(kind: .storage, message: Self.rebalancedMessage)
                }
                records = next.records
                events = next.events
            }
            // Windows close (their joins computed here) before this batch's profiles, metrics, offsets and
            // state go to the store, so that the samples' JSON, gzip and files are done on another core
            // meanwhile.
            let watermark = currentWatermark()
            var closed: [ClosedImpression] = []
            if watermark > watermarkBefore {
                closed = try closeWindows(through: watermark - configuration.attributionWindow.milliseconds)
            }
            // Named by a batch number from the store: a rolled-back retry reuses it (and rewrites the same
            // files), while a later batch — even one starting at a redelivered record — never does.
            let sampleFiles = SampleFileWrite(
                closed, directory: configuration.samplesDirectory, part: Self.padded(try nextCounter("batch")),
                level: Int32(configuration.samplesCompressionLevel))
            // Never left running: a retry of this batch rewrites the same files.
            defer { sampleFiles.waitIgnoringErrors() }
            try write(batch)
            let touched = batch.users.keys
            for (partition, offset) in applied {
                try store.run(
                    "INSERT INTO offsets (partition, applied, newest_ms) VALUES (?, ?, ?) "
                        + "ON CONFLICT(partition) DO UPDATE SET applied = excluded.applied, newest_ms = excluded.newest_ms",
                    [.int(Int64(partition)), .int(offset), .int(newest[partition] ?? 0)])
            }
            if watermark > Int64.min / 2 {  // no watermark yet while an assigned partition is unread
                try store.run(
                    "DELETE FROM seen WHERE ts < ?", [.int(watermark - configuration.deduplicationWindow.milliseconds)])
                try attribution().expireActions(before: watermark - 2 * configuration.attributionWindow.milliseconds)
            }
            try attribution().persist(to: store)
            statistics.samples = closed.count
            do {
                try sampleFiles.wait()
                if !profileSinks.isEmpty {
                    let profiles = try touched.sorted().compactMap { try profile(user: $0) }
                    for sink in profileSinks { try sink.write(profiles) }
                }
                if !metricsSinks.isEmpty {
                    let windows = try metrics(minutes: Set(batch.metrics.keys.map(\.minute)))
                    let version = try nextCounter("metrics_version")
                    for sink in metricsSinks { try sink.write(windows, version: version) }
                }
            } catch {
                throw LocalLogError(kind: .storage, message: "\(error)")
            }
        }
    }

    /// Applies one poll's records: skips what the store already applied (by offset) and events seen before
    /// (by id), decodes the rest and applies them to `batch`.
    private func apply(
        _ records: [SourceRecord], _ decoded: [DecodedEvent?], applied: inout [Int32: Int64],
        newest: inout [Int32: Int64], batch: inout BatchState, statistics: inout ProcessorStatistics
    ) throws(LocalLogError) {
        // Records come in runs of one partition: its offsets are looked up once per run.
        var accepted: [Int] = []  // indices of the events to apply
        accepted.reserveCapacity(records.count)
        var partition = Int32.min
        var appliedUpTo: Int64 = -1
        for (index, record) in records.enumerated() {
            if record.partition != partition {
                if appliedUpTo != applied[partition, default: -1] { applied[partition] = appliedUpTo }
                partition = record.partition
                appliedUpTo = applied[partition, default: -1]
            }
            if record.offset <= appliedUpTo {
                statistics.duplicates += 1  // redelivered after a rebalance or restart: already applied
                continue
            }
            appliedUpTo = record.offset
            guard decoded[index] != nil else {
                statistics.invalid += 1
                counters.invalidRecord(partition: record.partition, offset: record.offset, payload: record.payload)
                continue
            }
            accepted.append(index)
        }
        if appliedUpTo != applied[partition, default: -1] { applied[partition] = appliedUpTo }
        let keys = accepted.map {
            SeenKey(timestampMs: decoded[$0]!.timestampMs, idHash: EventIDHash.of(decoded[$0]!.eventID))
        }
        var firstSeen = try recordSeen(keys)
        partition = Int32.min
        var newestInRun = Int64.min
        for (index, key) in zip(accepted, keys) {
            guard firstSeen.remove(key) != nil else {
                statistics.duplicates += 1
                continue
            }
            try apply(decoded[index]!, to: &batch)
            statistics.processed += 1
            if records[index].partition != partition {
                if partition != .min { newest[partition] = max(newest[partition, default: Int64.min], newestInRun) }
                partition = records[index].partition
                newestInRun = Int64.min
            }
            newestInRun = max(newestInRun, key.timestampMs)
        }
        if partition != .min { newest[partition] = max(newest[partition, default: Int64.min], newestInRun) }
    }

    /// Each record's event (nil: not a feedback event), equal label sets sharing one storage through
    /// `labelSets`. Runs on any thread.
    static func decode(_ records: [SourceRecord], labelSets: LabelSets) -> [DecodedEvent?] {
        records.map { record in
            var event = DecodedEvent.decode(json: record.payload, fallbackID: "\(record.partition)-\(record.offset)")
            if let labels = event?.labels, !labels.isEmpty { event!.labels = labelSets.shared(labels) }
            return event
        }
    }

    /// Emits a sample for every impression still waiting, whatever its window: for a final run over a
    /// finished stream (end of day, tests). Returns the number of samples written.
    @discardableResult
    public func closeAllWindows() throws -> Int {
        var count = 0
        try inTransaction { () throws(LocalLogError) in
            try attribution().begin(segment: try nextCounter("segment"))
            let closed = try closeWindows(through: Int64.max)
            try attribution().persist(to: store)
            count = closed.count
            do {
                try SampleBatch(closed).write(
                    to: configuration.samplesDirectory, part: Self.padded(try nextCounter("batch")),
                    level: Int32(configuration.samplesCompressionLevel))
            } catch {
                throw LocalLogError(kind: .storage, message: "\(error)")
            }
        }
        var statistics = ProcessorStatistics()
        statistics.samples = count
        counters.committed(statistics)
        return count
    }

    /// Runs `body` in one store transaction; if it fails, the attribution state (changed in memory) is
    /// reloaded from the store, as the transaction left it, before the next batch.
    private func inTransaction(_ body: () throws(LocalLogError) -> Void) throws(LocalLogError) {
        do {
            try store.transaction(body)
        } catch {
            attributionState = nil
            throw error
        }
    }

    private func attribution() throws(LocalLogError) -> AttributionState {
        if let attributionState { return attributionState }
        let state = try AttributionState(store: store, labelSets: labelSets)
        attributionState = state
        return state
    }

    // MARK: - Applying one event

    /// What a batch changes in profiles and metrics, gathered in memory and written once per key at the
    /// end of the batch (`write(_:)`). Values that depend on order (decayed affinities, revenue sums) are
    /// loaded once and then updated event by event, so they come out bit for bit as if written per event.
    struct BatchState {
        var users: [String: UserChanges] = [:]
        var clicks: [[SQLiteConnection.Value]] = []
        var metrics: [MetricsKey: MetricsTotals] = [:]
    }

    struct MetricsKey: Hashable {
        var minute: Int64
        var scene: String
        var source: String
    }

    struct MetricsTotals {
        var impressions: Int64 = 0
        var clicks: Int64 = 0
        var conversions: Int64 = 0
        var revenue = 0.0

        /// Counts one impression, click or conversion (worth `amount`).
        mutating func count(_ type: String, amount: Double?) {
            switch type {
            case "impression": impressions += 1
            case "click": clicks += 1
            default:
                conversions += 1
                revenue += amount ?? 0
            }
        }
    }

    /// An event as the store remembers it: its time and the hash of its id (`EventIDHash`).
    struct SeenKey: Hashable {
        var timestampMs: Int64
        var idHash: Int64
    }

    /// Records `keys` as applied and returns those not applied before (once each, even when an event is in
    /// the batch twice). A duplicate is the same event sent again: the same id at the same time. Keyed by
    /// time, inserts land at the B-tree's right edge and old ids leave by range; an insert the store ignores
    /// is the look-up. Two integers per row: binding, comparing and hashing them is cheaper than the id.
    private func recordSeen(_ keys: [SeenKey]) throws(LocalLogError) -> Set<SeenKey> {
        let inserted = try store.runMany(
            "INSERT OR IGNORE INTO seen (ts, id_hash)", "RETURNING ts, id_hash",
            pairs: keys.map { ($0.timestampMs, $0.idHash) })
        var firstSeen = Set<SeenKey>(minimumCapacity: inserted.count)
        for (time, hash) in inserted { firstSeen.insert(SeenKey(timestampMs: time, idHash: hash)) }
        return firstSeen
    }

    private func apply(_ event: DecodedEvent, to batch: inout BatchState) throws(LocalLogError) {
        let user = event.profileKey
        let state = try attribution()
        var recallSource = event.labels["recall_source"]
        if recallSource == nil, event.type != "impression", !event.requestID.isEmpty,
            // Only an impression whose attribution window is still open at the click (whatever the
            // batching, older ones may already be closed and gone).
            let shown = state.labels(
                request: event.requestID, item: event.itemID,
                after: event.timestampMs - configuration.attributionWindow.milliseconds)
        {
            // A click carries no labels: it inherits its impression's recall source.
            recallSource = shown["recall_source"]
        }
        if !user.isEmpty {
            let weight = ProcessorConfiguration.weight(event.type)
            // The affinity features of a weighted event: one per recall source (`hot|ann` is two), and its
            // category.
            try batch.users[user, default: UserChanges()].record(
                event.type, at: event.timestampMs, weight: weight,
                features: weight == 0 ? [] : recallSource.map(sourceFeatures) ?? [],
                extraFeature: weight == 0 ? nil : event.category.map(categoryFeature),
                halfLifeMs: Double(configuration.affinityHalfLife.milliseconds)
            ) { () throws(LocalLogError) in try storedAffinity(user: user) }
            if event.type == "click" {
                batch.clicks.append([.text(event.eventID), .text(user), .text(event.itemID), .int(event.timestampMs)])
            }
        }
        switch event.type {
        case "impression", "click", "conversion":
            let minute = event.timestampMs - ((event.timestampMs % 60_000) + 60_000) % 60_000
            let key = MetricsKey(minute: minute, scene: event.scene, source: recallSource ?? "unknown")
            if let index = batch.metrics.index(forKey: key) {
                batch.metrics.values[index].count(event.type, amount: event.amount)
            } else {
                var totals = try storedMetrics(key)
                totals.count(event.type, amount: event.amount)
                batch.metrics[key] = totals
            }
        default:
            break
        }
        switch event.type {
        case "impression":
            state.add(
                AttributionState.Impression(
                    eventID: event.eventID, requestID: event.requestID, user: user, device: event.deviceID,
                    item: event.itemID, scene: event.scene, position: Int64(event.position), score: event.score,
                    labels: event.labels, timestampMs: event.timestampMs))
        case "click", "conversion":
            state.add(
                AttributionState.Action(
                    eventID: event.eventID, type: event.type, requestID: event.requestID, user: user,
                    item: event.itemID, timestampMs: event.timestampMs, value: event.amount ?? 0))
        default:
            break
        }
    }

    private func storedMetrics(_ key: MetricsKey) throws(LocalLogError) -> MetricsTotals {
        guard
            let row = try store.query(
                "SELECT impressions, clicks, conversions, revenue FROM metrics WHERE minute_ms = ? AND scene = ? "
                    + "AND source = ?", [.int(key.minute), .text(key.scene), .text(key.source)]
            ).first, case .int(let impressions) = row[0], case .int(let clicks) = row[1],
            case .int(let conversions) = row[2]
        else { return MetricsTotals() }
        let revenue: Double =
            switch row[3] {
            case .double(let value): value
            case .int(let value): Double(value)
            default: 0
            }
        return MetricsTotals(impressions: impressions, clicks: clicks, conversions: conversions, revenue: revenue)
    }

    /// The affinities `user` has in the store.
    private func storedAffinity(user: String) throws(LocalLogError) -> [UserChanges.Affinity] {
        try store.query("SELECT feature, score, updated_ms FROM profile_affinity WHERE user_id = ?", [.text(user)])
            .compactMap { row in
                guard case .text(let feature) = row[0], case .double(let score) = row[1],
                    case .int(let updated) = row[2]
                else { return nil }
                return UserChanges.Affinity(feature: feature, score: score, updatedMs: updated, changed: false)
            }
    }

    /// Writes what `batch` gathered: one row per touched key, many rows per statement.
    private func write(_ batch: BatchState) throws(LocalLogError) {
        var countRows: [[SQLiteConnection.Value]] = []
        var seenRows: [[SQLiteConnection.Value]] = []
        var affinityRows: [[SQLiteConnection.Value]] = []
        seenRows.reserveCapacity(batch.users.count)
        for (user, changes) in batch.users {
            for (type, count) in changes.counts { countRows.append([.text(user), .text(type), .int(count)]) }
            seenRows.append([.text(user), .int(changes.lastSeenMs)])
            for affinity in changes.affinity where affinity.changed {
                affinityRows.append([
                    .text(user), .text(affinity.feature), .double(affinity.score), .int(affinity.updatedMs),
                ])
            }
        }
        let totals = try store.runMany(
            "INSERT INTO profile_counts (user_id, type, count)",
            "ON CONFLICT(user_id, type) DO UPDATE SET count = count + excluded.count RETURNING user_id, type, count",
            rows: countRows)
        // A user's recent clicks need trimming only once they clicked more than are kept (the click count
        // bounds the rows: one per distinct click).
        var trimmed = Set<String>()
        for row in totals {
            if case .text(let user) = row[0], case .text("click") = row[1], case .int(let count) = row[2],
                count > Int64(configuration.recentClicks)
            {
                trimmed.insert(user)
            }
        }
        _ = try store.runMany(
            "INSERT INTO profile_seen (user_id, last_seen_ms)",
            "ON CONFLICT(user_id) DO UPDATE SET last_seen_ms = max(last_seen_ms, excluded.last_seen_ms)",
            rows: seenRows)
        _ = try store.runMany(
            "INSERT OR IGNORE INTO profile_clicks (event_id, user_id, item_id, ts)", rows: batch.clicks)
        for user in trimmed where batch.users[user]?.clicked == true {
            try store.run(
                "DELETE FROM profile_clicks WHERE user_id = ? AND event_id NOT IN (SELECT event_id FROM "
                    + "profile_clicks WHERE user_id = ? ORDER BY ts DESC, event_id DESC LIMIT ?)",
                [.text(user), .text(user), .int(Int64(configuration.recentClicks))])
        }
        _ = try store.runMany(
            "INSERT INTO profile_affinity (user_id, feature, score, updated_ms)",
            "ON CONFLICT(user_id, feature) DO UPDATE SET score = excluded.score, updated_ms = excluded.updated_ms",
            rows: affinityRows)
        _ = try store.runMany(
            "INSERT INTO metrics (minute_ms, scene, source, impressions, clicks, conversions, revenue)",
            "ON CONFLICT(minute_ms, scene, source) DO UPDATE SET impressions = excluded.impressions, "
                + "clicks = excluded.clicks, conversions = excluded.conversions, revenue = excluded.revenue",
            rows: batch.metrics.map {
                [
                    .int($0.key.minute), .text($0.key.scene), .text($0.key.source), .int($0.value.impressions),
                    .int($0.value.clicks), .int($0.value.conversions), .double($0.value.revenue),
                ]
            })
    }

    /// `recall_source=…` names per label value, built once per distinct value (a few: the recall
    /// channels) rather than split and formatted for every click.
    private func sourceFeatures(_ sources: String) -> [String] {
        if let names = featureNames[sources] { return names }
        if featureNames.count >= 4096 { featureNames.removeAll(keepingCapacity: true) }
        let names = sources.split(separator: "|").map { "recall_source=\($0)" }
        featureNames[sources] = names
        return names
    }

    /// `category=…`, built once per distinct category.
    private func categoryFeature(_ category: String) -> String {
        if let name = categoryFeatureNames[category] { return name }
        if categoryFeatureNames.count >= 4096 { categoryFeatureNames.removeAll(keepingCapacity: true) }
        let name = "category=\(category)"
        categoryFeatureNames[category] = name
        return name
    }

    // MARK: - Training samples

    /// Takes every impression whose window closed (impression time ≤ `limit`) out of the state, with what joined it.
    private func closeWindows(through limit: Int64) throws(LocalLogError) -> [ClosedImpression] {
        let window = configuration.attributionWindow.milliseconds
        let state = try attribution()
        return state.close(through: limit).map { impression in
            // Joined on request id + item; actions without a request id fall back to user + item. Both end
            // with the window, so that when a window is closed (which depends on batching) does not change
            // its sample.
            var closed = ClosedImpression(impression: impression)
            for action in state.actions(joining: impression, windowMs: window) {
                if action.type == "click" {
                    closed.clicks += 1
                    closed.firstClickMs = min(closed.firstClickMs ?? action.timestampMs, action.timestampMs)
                } else if action.type == "conversion" {
                    closed.conversions += 1
                    closed.conversionValue += action.value
                }
            }
            return closed
        }
    }

    /// `dt=YYYY-MM-DD/hour=HH` of a Unix time in milliseconds, in UTC. Integer arithmetic (Howard Hinnant's
    /// civil-from-days) rather than `Calendar`, which cost more than writing the sample.
    static func hourPartition(_ milliseconds: Int64) -> String {
        let seconds = milliseconds >= 0 ? milliseconds / 1000 : (milliseconds - 999) / 1000
        let days = seconds >= 0 ? seconds / 86_400 : (seconds - 86_399) / 86_400
        let hour = (seconds - days * 86_400) / 3600
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let monthIndex = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * monthIndex + 2) / 5 + 1
        let month = monthIndex < 10 ? monthIndex + 3 : monthIndex - 9
        let year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)
        func two(_ value: Int64) -> String { value < 10 ? "0\(value)" : "\(value)" }
        let yearText = String(year)
        let paddedYear = String(repeating: "0", count: max(0, 4 - yearText.count)) + yearText
        return "dt=\(paddedYear)-\(two(month))-\(two(day))/hour=\(two(hour))"
    }

    // MARK: - Reading

    /// The profile of `user` (a user id, or a device id for anonymous traffic); nil if never seen.
    public func profile(user: String) throws -> UserProfile? {
        guard
            let lastSeen = try store.queryInt("SELECT last_seen_ms FROM profile_seen WHERE user_id = ?", [.text(user)])
        else { return nil }
        var counts: [String: Int] = [:]
        for row in try store.query("SELECT type, count FROM profile_counts WHERE user_id = ?", [.text(user)]) {
            if case .text(let type) = row[0], case .int(let count) = row[1] { counts[type] = Int(count) }
        }
        let clicks = try store.query(
            "SELECT item_id FROM profile_clicks WHERE user_id = ? ORDER BY ts DESC, event_id DESC", [.text(user)]
        ).compactMap { row -> String? in if case .text(let item) = row[0] { item } else { nil } }
        var affinity: [String: Double] = [:]
        let halfLife = Double(configuration.affinityHalfLife.milliseconds)
        for row in try store.query(
            "SELECT feature, score, updated_ms FROM profile_affinity WHERE user_id = ?", [.text(user)])
        {
            if case .text(let feature) = row[0], case .double(let score) = row[1], case .int(let updated) = row[2] {
                affinity[feature] = score * pow(2, -Double(max(0, lastSeen - updated)) / halfLife)
            }
        }
        return UserProfile(user: user, counts: counts, recentClicks: clicks, affinity: affinity, lastSeenMs: lastSeen)
    }

    /// The most recent `limit` metric windows, newest minute first.
    public func metrics(limit: Int = 20) throws -> [MetricsWindow] {
        try store.query(
            "SELECT minute_ms, scene, source, impressions, clicks, conversions, revenue FROM metrics "
                + "ORDER BY minute_ms DESC, scene, source LIMIT ?", [.int(Int64(limit))]
        ).compactMap(Self.window)
    }

    private static func window(_ row: [SQLiteConnection.Value]) -> MetricsWindow? {
        guard case .int(let minute) = row[0], case .text(let scene) = row[1], case .text(let source) = row[2],
            case .int(let impressions) = row[3], case .int(let clicks) = row[4], case .int(let conversions) = row[5]
        else { return nil }
        let revenue: Double =
            switch row[6] {
            case .double(let value): value
            case .int(let value): Double(value)
            default: 0
            }
        return MetricsWindow(
            minuteMs: minute, scene: scene, source: source, impressions: Int(impressions), clicks: Int(clicks),
            conversions: Int(conversions), revenue: revenue)
    }

    // MARK: - State

    /// Every window of these minutes, as the store holds it now.
    private func metrics(minutes: Set<Int64>) throws -> [MetricsWindow] {
        try minutes.sorted().flatMap { minute in
            try store.query(
                "SELECT minute_ms, scene, source, impressions, clicks, conversions, revenue FROM metrics WHERE minute_ms = ?",
                [.int(minute)]
            ).compactMap(Self.window)
        }
    }

    /// A number that increases with every call in a committed transaction (rolled back with a failed one,
    /// so a retried batch gets the same number again).
    private func nextCounter(_ name: String) throws(LocalLogError) -> Int64 {
        try store.run(
            "INSERT INTO counters (name, value) VALUES (?, 1) ON CONFLICT(name) DO UPDATE SET value = value + 1",
            [.text(name)])
        return try store.queryInt("SELECT value FROM counters WHERE name = ?", [.text(name)]) ?? 1
    }

    private func newestPerPartition() throws(LocalLogError) -> [Int32: Int64] {
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
