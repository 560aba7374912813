import FeedbackLog
import Foundation

// Applying events: de-duplication, the per-batch aggregates of profiles and metrics, and writing them.
extension FeedbackProcessor {
    /// Applies one poll's records: skips what the store already applied (by offset) and events seen before
    /// (by id), decodes the rest and applies them to `batch`.
    func apply(
        _ records: [SourceRecord], _ decoded: [DecodedEvent], applied: inout [Int32: Int64],
        newest: inout [Int32: Int64], batch: inout BatchState, statistics: inout ProcessorStatistics
    ) throws(LocalLogError) {
        let state = try attribution()  // once per poll, not a retain and release per event
        var folds: [ProfileFolder.Fold] = []
        folds.reserveCapacity(records.count)
        defer { profiles.fold(decoded, folds) }  // what was applied, even when a later event fails
        // Records and events read in place, through one buffer pointer each for the poll: a copy of an event
        // (its ~200 bytes and a retain per string) was a tenth of this thread's time, and a record copied
        // or a buffer pointer taken per event retained an array each.
        try records.withUnsafeBufferPointer { records throws(LocalLogError) in
            try decoded.withUnsafeBufferPointer { events throws(LocalLogError) in
                let accepted = accept(records, events, applied: &applied, statistics: &statistics)
                var partition = Int32.min
                var newestInRun = Int64.min
                for (position, index) in accepted.enumerated() {
                    // The index slots of the event a few ahead, loaded while this one is applied.
                    if position + Self.prefetchDistance < accepted.count {
                        let ahead = events.baseAddress! + accepted[position + Self.prefetchDistance]
                        state.prefetch(ahead.pointee.kind, hash: ahead.pointee.pairHash)
                    }
                    let event = events.baseAddress! + index
                    let (timestampMs, idHash) = (event.pointee.timestampMs, event.pointee.idHash)
                    guard try batch.seen.insert(.init(timestampMs: timestampMs, idHash: idHash), from: store) else {
                        statistics.duplicates += 1
                        continue
                    }
                    apply(event, to: &folds, index: index, state: state)
                    statistics.processed += 1
                    if records[index].partition != partition {
                        if partition != .min {
                            newest[partition] = max(newest[partition, default: Int64.min], newestInRun)
                        }
                        partition = records[index].partition
                        newestInRun = Int64.min
                    }
                    newestInRun = max(newestInRun, timestampMs)
                }
                if partition != .min {
                    newest[partition] = max(newest[partition, default: Int64.min], newestInRun)
                }
            }
        }
    }

    /// The indices of the poll's events to apply: skips what the store already applied (by offset, moving
    /// `applied` on) and records that are not feedback events (counted and logged).
    private func accept(
        _ records: UnsafeBufferPointer<SourceRecord>, _ events: UnsafeBufferPointer<DecodedEvent>,
        applied: inout [Int32: Int64], statistics: inout ProcessorStatistics
    ) -> [Int] {
        // Records come in runs of one partition: its offsets are looked up once per run.
        var accepted: [Int] = []
        accepted.reserveCapacity(records.count)
        var partition = Int32.min
        var appliedUpTo: Int64 = -1
        for index in records.indices {
            if records[index].partition != partition {
                if appliedUpTo != applied[partition, default: -1] { applied[partition] = appliedUpTo }
                partition = records[index].partition
                appliedUpTo = applied[partition, default: -1]
            }
            if records[index].offset <= appliedUpTo {
                statistics.duplicates += 1  // redelivered after a rebalance or restart: already applied
                continue
            }
            appliedUpTo = records[index].offset
            guard events[index].isEvent else {
                statistics.invalid += 1
                counters.invalidRecord(
                    partition: records[index].partition, offset: records[index].offset, payload: records[index].payload)
                continue
            }
            accepted.append(index)
        }
        if appliedUpTo != applied[partition, default: -1] { applied[partition] = appliedUpTo }
        return accepted
    }

    /// How many events ahead of the one applied the attribution indexes are prefetched.
    static let prefetchDistance = 8

    /// Each record's event (``DecodedEvent/notAnEvent``: not a feedback event). Runs on any thread.
    static func decode(_ records: [SourceRecord]) -> [DecodedEvent] {
        var labels = LabelCache()
        // Built in the array's storage (see `DecodedEvent.decode(json:fallbackID:labels:initializing:)`).
        return [DecodedEvent](unsafeUninitializedCapacity: records.count) { events, count in
            for record in records {
                record.payload.withUnsafeBufferPointer { payload in
                    _ = DecodedEvent.decode(
                        json: payload, fallbackID: "\(record.partition)-\(record.offset)", labels: &labels,
                        initializing: events.baseAddress! + count)
                }
                count += 1
            }
        }
    }

    /// What a batch keeps on the processor's thread besides the attribution state (its profiles and metrics
    /// are folded by ``ProfileFolder``).
    struct BatchState {
        /// The events applied, checked against the de-duplication window.
        var seen: SeenIDs
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
        mutating func count(_ kind: EventKind, amount: Double?) {
            switch kind {
            case .impression: impressions += 1
            case .click: clicks += 1
            case .conversion:
                conversions += 1
                revenue += amount ?? 0
            case .other: break
            }
        }

        /// The totals of `key`'s window as `store` holds them (zero for a new window).
        static func read(_ key: MetricsKey, from store: SQLiteConnection) throws(LocalLogError) -> MetricsTotals {
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
    }

    /// Adds the event at `slot` (number `index` of its poll, a feedback event; its fields read in place) to the
    /// attribution state, and hands it to the profile folder with the labels a click or conversion
    /// without a recall source inherits it from (its impression's).
    func apply(
        _ slot: UnsafePointer<DecodedEvent>, to folds: inout [ProfileFolder.Fold], index: Int, state: AttributionState
    ) {
        var inherited: EventLabels?
        if slot.pointee.kind != .impression, !slot.pointee.requestID.isEmpty,
            slot.pointee.labels.recallSource == nil,
            // Only an impression whose attribution window is still open at the click (whatever the
            // batching, older ones may already be closed and gone).
            let shown = state.labels(
                request: slot.pointee.requestID, item: slot.pointee.itemID,
                after: slot.pointee.timestampMs - attributionWindowMs, hash: slot.pointee.pairHash)
        {
            // A click carries no labels: it inherits its impression's recall source.
            inherited = shown
        }
        folds.append(ProfileFolder.Fold(index: Int32(index), inherited: inherited))
        switch slot.pointee.kind {
        case .impression:
            state.add(
                AttributionState.Impression(
                    eventID: slot.pointee.eventID, requestID: slot.pointee.requestID, user: slot.pointee.profileKey,
                    device: slot.pointee.deviceID, item: slot.pointee.itemID, scene: slot.pointee.scene,
                    position: Int64(slot.pointee.position),
                    score: slot.pointee.score, labels: slot.pointee.labels, timestampMs: slot.pointee.timestampMs,
                    requestHash: slot.pointee.requestID.isEmpty ? nil : slot.pointee.pairHash))
        case .click, .conversion:
            state.add(
                AttributionState.Action(
                    eventID: slot.pointee.eventID, type: slot.pointee.type, requestID: slot.pointee.requestID,
                    user: slot.pointee.profileKey,
                    item: slot.pointee.itemID, timestampMs: slot.pointee.timestampMs,
                    value: slot.pointee.amount ?? 0, kind: slot.pointee.kind, indexHash: slot.pointee.pairHash))
        case .other:
            break
        }
    }

    /// Writes what the batch gathered: its seen ids, and one row per touched profile and metric window, many
    /// rows per statement, profiles in key order (rows inserted in the B-tree's order land next to each
    /// other; in the dictionary's order, each went to another page).
    func write(_ batch: BatchState, _ folded: ProfileFolder.Folded) throws(LocalLogError) {
        try batch.seen.write(to: store)
        _ = try store.runMany(
            "INSERT INTO profiles (user_id, data)", "ON CONFLICT(user_id) DO UPDATE SET data = excluded.data",
            rows: folded.rows.map { [.text($0.user), .blob($0.data)] })
        _ = try store.runMany(
            "INSERT INTO metrics (minute_ms, scene, source, impressions, clicks, conversions, revenue)",
            "ON CONFLICT(minute_ms, scene, source) DO UPDATE SET impressions = excluded.impressions, "
                + "clicks = excluded.clicks, conversions = excluded.conversions, revenue = excluded.revenue",
            rows: folded.metrics.map {
                [
                    .int($0.key.minute), .text($0.key.scene), .text($0.key.source), .int($0.value.impressions),
                    .int($0.value.clicks), .int($0.value.conversions), .double($0.value.revenue),
                ]
            })
    }
}

extension FeedbackProcessor {
    /// Decodes `records` as the processor does a poll's and returns how many are feedback events: for
    /// `feedback-hook-bench decode`, which times the event reader alone.
    package static func decodedEventCount(_ records: [SourceRecord]) -> Int {
        let events = decode(records)
        return events.withUnsafeBufferPointer { events in events.indices.count { events[$0].isEvent } }
    }
}
