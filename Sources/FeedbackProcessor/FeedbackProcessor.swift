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
        try FileManager.default.createDirectory(
            atPath: (configuration.storePath as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        store = try SQLiteConnection(path: configuration.storePath)
        try store.execute(
            """
            PRAGMA journal_mode=WAL;
            PRAGMA synchronous=FULL;
            PRAGMA busy_timeout=10000;
            CREATE TABLE IF NOT EXISTS offsets (partition INTEGER PRIMARY KEY, applied INTEGER NOT NULL,
                newest_ms INTEGER NOT NULL DEFAULT 0);
            CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
            CREATE TABLE IF NOT EXISTS seen (event_id TEXT PRIMARY KEY, ts INTEGER NOT NULL);
            CREATE INDEX IF NOT EXISTS seen_ts ON seen(ts);
            CREATE TABLE IF NOT EXISTS profile_counts (user_id TEXT, type TEXT, count INTEGER NOT NULL,
                PRIMARY KEY (user_id, type));
            CREATE TABLE IF NOT EXISTS profile_seen (user_id TEXT PRIMARY KEY, last_seen_ms INTEGER NOT NULL);
            CREATE TABLE IF NOT EXISTS profile_clicks (event_id TEXT PRIMARY KEY, user_id TEXT, item_id TEXT,
                ts INTEGER NOT NULL);
            CREATE INDEX IF NOT EXISTS profile_clicks_user ON profile_clicks(user_id, ts);
            CREATE TABLE IF NOT EXISTS profile_affinity (user_id TEXT, feature TEXT, score REAL NOT NULL,
                updated_ms INTEGER NOT NULL, PRIMARY KEY (user_id, feature));
            CREATE TABLE IF NOT EXISTS metrics (minute_ms INTEGER, scene TEXT, source TEXT,
                impressions INTEGER NOT NULL, clicks INTEGER NOT NULL, conversions INTEGER NOT NULL,
                revenue REAL NOT NULL, PRIMARY KEY (minute_ms, scene, source));
            CREATE TABLE IF NOT EXISTS pending (event_id TEXT PRIMARY KEY, request_id TEXT, user_id TEXT,
                device_id TEXT, item_id TEXT, scene TEXT, position INTEGER, score REAL, labels TEXT, ts INTEGER);
            CREATE INDEX IF NOT EXISTS pending_ts ON pending(ts);
            CREATE INDEX IF NOT EXISTS pending_request ON pending(request_id, item_id);
            CREATE TABLE IF NOT EXISTS actions (event_id TEXT PRIMARY KEY, type TEXT, request_id TEXT,
                user_id TEXT, item_id TEXT, ts INTEGER, value REAL);
            CREATE INDEX IF NOT EXISTS actions_request ON actions(request_id, item_id);
            CREATE INDEX IF NOT EXISTS actions_user ON actions(user_id, item_id, ts);
            """)
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

    /// Processes one batch (at most `batchSize` records, waiting up to `timeout` for the first) in one
    /// transaction, then commits the source's offsets.
    public func processBatch(timeout: Duration = .milliseconds(500)) throws -> ProcessorStatistics {
        var statistics = ProcessorStatistics()
        if !started {
            try source.start(after: appliedOffsets())
            started = true
        }
        let records = try source.poll(max: configuration.batchSize, timeout: timeout)
        statistics.offset = offset
        guard !records.isEmpty else { return statistics }
        try store.transaction { () throws(LocalLogError) in
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
            var watermark = currentWatermark()
            var samples: [String] = []
            var touched = Set<String>()
            var touchedMinutes = Set<Int64>()
            for record in records {
                if record.offset <= applied[record.partition, default: -1] {
                    statistics.duplicates += 1  // redelivered after a rebalance or restart: already applied
                    continue
                }
                applied[record.partition] = record.offset
                guard
                    let event = DecodedEvent(json: record.payload, fallbackID: "\(record.partition)-\(record.offset)")
                else {
                    statistics.invalid += 1
                    continue
                }
                if try store.queryInt("SELECT 1 FROM seen WHERE event_id = ?", [.text(event.eventID)]) != nil {
                    statistics.duplicates += 1
                    continue
                }
                try store.run(
                    "INSERT INTO seen (event_id, ts) VALUES (?, ?)", [.text(event.eventID), .int(event.timestampMs)])
                try apply(event)
                if !event.profileKey.isEmpty { touched.insert(event.profileKey) }
                touchedMinutes.insert(event.timestampMs - ((event.timestampMs % 60_000) + 60_000) % 60_000)
                statistics.processed += 1
                if event.timestampMs > newest[record.partition, default: Int64.min] {
                    newest[record.partition] = event.timestampMs
                    let moved = currentWatermark()
                    if moved > watermark {
                        watermark = moved
                        samples += try closeWindows(through: watermark - configuration.attributionWindow.milliseconds)
                    }
                }
            }
            for (partition, offset) in applied {
                try store.run(
                    "INSERT INTO offsets (partition, applied, newest_ms) VALUES (?, ?, ?) "
                        + "ON CONFLICT(partition) DO UPDATE SET applied = excluded.applied, newest_ms = excluded.newest_ms",
                    [.int(Int64(partition)), .int(offset), .int(newest[partition] ?? 0)])
            }
            if watermark > Int64.min / 2 {  // no watermark yet while an assigned partition is unread
                try store.run(
                    "DELETE FROM seen WHERE ts < ?", [.int(watermark - configuration.deduplicationWindow.milliseconds)])
                try store.run(
                    "DELETE FROM actions WHERE ts < ?",
                    [.int(watermark - 2 * configuration.attributionWindow.milliseconds)])
            }
            statistics.samples = samples.count
            do {
                // Named by a batch number from the store: a rolled-back retry reuses it (and rewrites the same
                // files), while a later batch — even one starting at a redelivered record — never does.
                try writeSamples(samples, part: Self.padded(try nextCounter("batch")))
                if !profileSinks.isEmpty {
                    let profiles = try touched.sorted().compactMap { try profile(user: $0) }
                    for sink in profileSinks { try sink.write(profiles) }
                }
                if !metricsSinks.isEmpty {
                    let windows = try metrics(minutes: touchedMinutes)
                    let version = try nextCounter("metrics_version")
                    for sink in metricsSinks { try sink.write(windows, version: version) }
                }
            } catch {
                throw LocalLogError(kind: .storage, message: "\(error)")
            }
        }
        try source.commit(records)
        statistics.offset = offset
        return statistics
    }

    /// Emits a sample for every impression still waiting, whatever its window: for a final run over a
    /// finished stream (end of day, tests). Returns the number of samples written.
    @discardableResult
    public func closeAllWindows() throws -> Int {
        var count = 0
        try store.transaction { () throws(LocalLogError) in
            let samples = try closeWindows(through: Int64.max)
            count = samples.count
            do { try writeSamples(samples, part: Self.padded(try nextCounter("batch"))) } catch {
                throw LocalLogError(kind: .storage, message: "\(error)")
            }
        }
        return count
    }

    // MARK: - Applying one event

    private func apply(_ event: DecodedEvent) throws(LocalLogError) {
        let user = event.profileKey
        var labels = event.labels
        if event.type != "impression", !event.requestID.isEmpty,
            let row = try store.query(
                "SELECT labels FROM pending WHERE request_id = ? AND item_id = ? LIMIT 1",
                [.text(event.requestID), .text(event.itemID)]
            ).first, case .text(let json) = row[0]
        {
            // A click carries no labels: it inherits its impression's (recall source, ...).
            labels.merge(Self.decodeLabels(json)) { own, _ in own }
        }
        if !user.isEmpty {
            try store.run(
                "INSERT INTO profile_counts (user_id, type, count) VALUES (?, ?, 1) "
                    + "ON CONFLICT(user_id, type) DO UPDATE SET count = count + 1",
                [.text(user), .text(event.type)])
            try store.run(
                "INSERT INTO profile_seen (user_id, last_seen_ms) VALUES (?, ?) "
                    + "ON CONFLICT(user_id) DO UPDATE SET last_seen_ms = max(last_seen_ms, excluded.last_seen_ms)",
                [.text(user), .int(event.timestampMs)])
            if event.type == "click" {
                try store.run(
                    "INSERT OR IGNORE INTO profile_clicks (event_id, user_id, item_id, ts) VALUES (?, ?, ?, ?)",
                    [.text(event.eventID), .text(user), .text(event.itemID), .int(event.timestampMs)])
                try store.run(
                    "DELETE FROM profile_clicks WHERE user_id = ? AND event_id NOT IN (SELECT event_id FROM "
                        + "profile_clicks WHERE user_id = ? ORDER BY ts DESC, event_id DESC LIMIT ?)",
                    [.text(user), .text(user), .int(Int64(configuration.recentClicks))])
            }
            let weight = ProcessorConfiguration.weight(event.type)
            if weight != 0 {
                for feature in Self.features(labels: labels, category: event.category) {
                    try addAffinity(user: user, feature: feature, weight: weight, at: event.timestampMs)
                }
            }
        }
        let source = labels["recall_source"] ?? "unknown"
        let minute = event.timestampMs - ((event.timestampMs % 60_000) + 60_000) % 60_000
        let (impressions, clicks, conversions): (Int64, Int64, Int64) =
            switch event.type {
            case "impression": (1, 0, 0)
            case "click": (0, 1, 0)
            case "conversion": (0, 0, 1)
            default: (0, 0, 0)
            }
        if impressions + clicks + conversions > 0 {
            try store.run(
                "INSERT INTO metrics (minute_ms, scene, source, impressions, clicks, conversions, revenue) "
                    + "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT(minute_ms, scene, source) DO UPDATE SET "
                    + "impressions = impressions + excluded.impressions, clicks = clicks + excluded.clicks, "
                    + "conversions = conversions + excluded.conversions, revenue = revenue + excluded.revenue",
                [
                    .int(minute), .text(event.scene), .text(source), .int(impressions), .int(clicks),
                    .int(conversions), .double(event.type == "conversion" ? event.amount ?? 0 : 0),
                ])
        }
        switch event.type {
        case "impression":
            try store.run(
                "INSERT OR IGNORE INTO pending (event_id, request_id, user_id, device_id, item_id, scene, position, "
                    + "score, labels, ts) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    .text(event.eventID), .text(event.requestID), .text(user), .text(event.deviceID),
                    .text(event.itemID), .text(event.scene), .int(Int64(event.position)), .double(event.score),
                    .text(Self.encodeLabels(event.labels)), .int(event.timestampMs),
                ])
        case "click", "conversion":
            try store.run(
                "INSERT OR IGNORE INTO actions (event_id, type, request_id, user_id, item_id, ts, value) "
                    + "VALUES (?, ?, ?, ?, ?, ?, ?)",
                [
                    .text(event.eventID), .text(event.type), .text(event.requestID), .text(user), .text(event.itemID),
                    .int(event.timestampMs), .double(event.amount ?? 0),
                ])
        default:
            break
        }
    }

    private func addAffinity(user: String, feature: String, weight: Double, at time: Int64) throws(LocalLogError) {
        let halfLife = Double(configuration.affinityHalfLife.milliseconds)
        let current = try store.query(
            "SELECT score, updated_ms FROM profile_affinity WHERE user_id = ? AND feature = ?",
            [.text(user), .text(feature)]
        ).first
        var score = weight
        var updated = time
        if let current, case .double(let previous) = current[0], case .int(let previousTime) = current[1] {
            let later = max(time, previousTime)
            // Decay both to the later time, so that the result does not depend on arrival order.
            score =
                previous * pow(2, -Double(later - previousTime) / halfLife) + weight
                * pow(2, -Double(later - time) / halfLife)
            updated = later
        }
        try store.run(
            "INSERT INTO profile_affinity (user_id, feature, score, updated_ms) VALUES (?, ?, ?, ?) "
                + "ON CONFLICT(user_id, feature) DO UPDATE SET score = excluded.score, updated_ms = excluded.updated_ms",
            [.text(user), .text(feature), .double(score), .int(updated)])
    }

    static func features(labels: [String: String], category: String?) -> [String] {
        var features: [String] = []
        if let sources = labels["recall_source"] {
            for source in sources.split(separator: "|") { features.append("recall_source=\(source)") }
        }
        if let category { features.append("category=\(category)") }
        return features
    }

    // MARK: - Training samples

    /// Turns every impression whose window closed (impression time ≤ `limit`) into a sample.
    private func closeWindows(through limit: Int64) throws(LocalLogError) -> [String] {
        let window = configuration.attributionWindow.milliseconds
        let rows = try store.query(
            "SELECT event_id, request_id, user_id, device_id, item_id, scene, position, score, labels, ts FROM pending "
                + "WHERE ts <= ? ORDER BY ts, event_id", [.int(limit)])
        var samples: [String] = []
        for row in rows {
            guard case .text(let eventID) = row[0], case .text(let requestID) = row[1], case .text(let user) = row[2],
                case .text(let device) = row[3], case .text(let item) = row[4], case .text(let scene) = row[5],
                case .int(let position) = row[6], case .text(let labels) = row[8], case .int(let ts) = row[9]
            else { continue }
            let score: Double = if case .double(let value) = row[7] { value } else { 0 }
            // Join on request id + item; actions without a request id fall back to user + item in the window.
            // Two indexed lookups (an OR of both would scan the whole table).
            let byRequest = try store.query(
                "SELECT type, ts, value FROM actions WHERE request_id = ? AND item_id = ? AND request_id != ''",
                [.text(requestID), .text(item)])
            let byUser = try store.query(
                "SELECT type, ts, value FROM actions WHERE user_id = ? AND item_id = ? AND ts >= ? AND ts <= ? "
                    + "AND request_id = ''",
                [.text(user), .text(item), .int(ts), .int(ts + window)])
            var clickCount = 0
            var firstClick: Int64?
            var conversionCount = 0
            var value = 0.0
            for action in byRequest + byUser {
                guard case .text(let type) = action[0], case .int(let time) = action[1] else { continue }
                if type == "click" {
                    clickCount += 1
                    firstClick = min(firstClick ?? time, time)
                } else if type == "conversion" {
                    conversionCount += 1
                    switch action[2] {
                    case .double(let amount): value += amount
                    case .int(let amount): value += Double(amount)
                    default: break
                    }
                }
            }
            // Keys in sorted order; written with the collector's JSON writer (Foundation's sortedKeys collates
            // through ICU and was half of the processor's time).
            let writer = JSONWriter(capacity: 512)
            writer.raw("{\"click_ts_ms\":")
            if let firstClick { writer.int(firstClick) } else { writer.raw("null") }
            writer.raw(clickCount > 0 ? ",\"clicked\":true" : ",\"clicked\":false")
            writer.raw(",\"conversion_value\":")
            writer.double(value)
            writer.raw(conversionCount > 0 ? ",\"converted\":true" : ",\"converted\":false")
            writer.raw(",\"device_id\":")
            writer.string(device)
            writer.raw(",\"impression_id\":")
            writer.string(eventID)
            writer.raw(",\"impression_ts_ms\":")
            writer.int(ts)
            writer.raw(",\"item_id\":")
            writer.string(item)
            writer.raw(clickCount > 0 ? ",\"label\":1" : ",\"label\":0")
            writer.raw(",\"labels\":")
            writer.labels(Self.decodeLabels(labels))
            writer.raw(",\"position\":")
            writer.int(position)
            writer.raw(",\"request_id\":")
            writer.string(requestID)
            writer.raw(",\"scene\":")
            writer.string(scene)
            writer.raw(",\"score\":")
            writer.double(score)
            writer.raw(",\"user_id\":")
            writer.string(user)
            writer.byte(UInt8(ascii: "}"))
            let json = String(decoding: writer.bytes, as: UTF8.self)
            samples.append(json)
            try store.run("DELETE FROM pending WHERE event_id = ?", [.text(eventID)])
        }
        return samples
    }

    /// Writes samples grouped by their impression's UTC date and hour; one file per partition per batch.
    private func writeSamples(_ samples: [String], part: String) throws {
        guard !samples.isEmpty else { return }
        var partitions: [String: [UInt8]] = [:]
        for sample in samples {
            guard let range = sample.range(of: "\"impression_ts_ms\":"),
                let ms = Int64(sample[range.upperBound...].prefix { $0.isNumber || $0 == "-" })
            else { continue }
            let date = Date(timeIntervalSince1970: Double(ms) / 1000)
            var calendar = Calendar(identifier: .gregorian)
            calendar.timeZone = TimeZone(identifier: "UTC")!
            let parts = calendar.dateComponents([.year, .month, .day, .hour], from: date)
            let key = String(
                format: "dt=%04d-%02d-%02d/hour=%02d", parts.year ?? 1970, parts.month ?? 1, parts.day ?? 1,
                parts.hour ?? 0)
            partitions[key, default: []].append(contentsOf: Array(sample.utf8) + [UInt8(ascii: "\n")])
        }
        for (partition, bytes) in partitions {
            try GzipFile.write(
                bytes,
                to: "\(configuration.samplesDirectory)/\(partition)/part-\(part).jsonl.gz")
        }
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

    static func encodeLabels(_ labels: [String: String]) -> String {
        String(
            decoding: (try? JSONSerialization.data(withJSONObject: labels, options: [.sortedKeys])) ?? Data("{}".utf8),
            as: UTF8.self)
    }

    static func decodeLabels(_ json: String) -> [String: String] {
        (try? JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: String]) ?? [:]
    }
}
