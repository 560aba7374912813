import FeedbackLog
import Foundation

// Applying events: de-duplication, the per-batch aggregates of profiles and metrics, and writing them.
extension FeedbackProcessor {
    /// Applies one poll's records: skips what the store already applied (by offset) and events seen before
    /// (by id), decodes the rest and applies them to `batch`.
    func apply(
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
        partition = Int32.min
        var newestInRun = Int64.min
        for index in accepted {
            guard let event = decoded[index] else { continue }  // one copy (not one per use)
            let key = SeenIDs.Key(timestampMs: event.timestampMs, idHash: EventIDHash.of(event.eventID))
            guard try batch.seen.insert(key, from: store) else {
                statistics.duplicates += 1
                continue
            }
            try apply(event, to: &batch)
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
        var labels = LabelCache(sets: labelSets)
        return records.map { record in
            DecodedEvent.decode(
                json: record.payload, fallbackID: "\(record.partition)-\(record.offset)", labels: &labels)
        }
    }

    /// What a batch changes in profiles and metrics, gathered in memory and written once per key at the
    /// end of the batch (`write(_:)`). Values that depend on order (decayed affinities, revenue sums) are
    /// loaded once and then updated event by event, so they come out bit for bit as if written per event.
    struct BatchState {
        /// The events applied, checked against the de-duplication window.
        var seen: SeenIDs
        /// Each touched user's profile: read from the store at their first event in the batch, then updated.
        var users: [String: StoredProfile] = [:]
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

    func apply(_ event: DecodedEvent, to batch: inout BatchState) throws(LocalLogError) {
        let user = event.profileKey
        let state = try attribution()
        var recallSource = event.labels["recall_source"]
        if recallSource == nil, event.type != "impression", !event.requestID.isEmpty,
            // Only an impression whose attribution window is still open at the click (whatever the
            // batching, older ones may already be closed and gone).
            let shown = state.labels(
                request: event.requestID, item: event.itemID,
                after: event.timestampMs - attributionWindowMs)
        {
            // A click carries no labels: it inherits its impression's recall source.
            recallSource = shown["recall_source"]
        }
        if !user.isEmpty {
            let weight = ProcessorConfiguration.weight(event.type)
            // The affinity features of a weighted event: one per recall source (`hot|ann` is two), and its
            // category.
            var index = batch.users.index(forKey: user)
            if index == nil {
                if let committed = committedProfiles.removeValue(forKey: user) {
                    batch.users[user] = committed
                } else {
                    batch.users[user] = try storedProfile(user: user) ?? StoredProfile()
                }
                index = batch.users.index(forKey: user)
            }
            batch.users.values[index!].record(
                event.type, at: event.timestampMs,
                click: event.type == "click"
                    ? StoredProfile.Click(eventID: event.eventID, itemID: event.itemID, timestampMs: event.timestampMs)
                    : nil,
                weight: weight,
                features: weight == 0 ? [] : recallSource.map(sourceFeatures) ?? [],
                extraFeature: weight == 0 ? nil : event.category.map(categoryFeature),
                halfLifeMs: affinityHalfLifeMs, recentClicks: configuration.recentClicks)
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

    func storedMetrics(_ key: MetricsKey) throws(LocalLogError) -> MetricsTotals {
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

    /// The profile of `user` as the store holds it; nil if never seen.
    func storedProfile(user: String) throws(LocalLogError) -> StoredProfile? {
        let row = try store.query("SELECT data FROM profiles WHERE user_id = ?", [.text(user)]).first
        guard case .blob(let data)? = row?.first else { return nil }
        return try StoredProfile(decoding: data, origin: store.path)
    }

    /// Writes what `batch` gathered: one row per touched key, many rows per statement, profiles in key order
    /// (rows inserted in the B-tree's order land next to each other; in the dictionary's order, each went to
    /// another page).
    func write(_ batch: BatchState) throws(LocalLogError) {
        try batch.seen.write(to: store)
        _ = try store.runMany(
            "INSERT INTO profiles (user_id, data)", "ON CONFLICT(user_id) DO UPDATE SET data = excluded.data",
            rows: batch.users.sorted(by: { $0.key < $1.key }).map { [.text($0.key), .blob($0.value.encoded())] })
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
    func sourceFeatures(_ sources: String) -> [String] {
        if let names = featureNames[sources] { return names }
        if featureNames.count >= 4096 { featureNames.removeAll(keepingCapacity: true) }
        let names = sources.split(separator: "|").map { "recall_source=\($0)" }
        featureNames[sources] = names
        return names
    }

    /// `category=…`, built once per distinct category.
    func categoryFeature(_ category: String) -> String {
        if let name = categoryFeatureNames[category] { return name }
        if categoryFeatureNames.count >= 4096 { categoryFeatureNames.removeAll(keepingCapacity: true) }
        let name = "category=\(category)"
        categoryFeatureNames[category] = name
        return name
    }
}
