import FastCollections
import FeedbackWire

// Applying a poll's events: skipping what was applied before (by offset, then by id), adding each event to
// the attribution state, and handing it to the profile folder.
extension BatchRunner {
    /// Applies one poll's records: skips what the store already applied (by offset) and events seen before
    /// (by id), decodes the rest and applies them to `batch`.
    func apply(
        _ records: [SourceRecord], _ decoded: [DecodedEvent], _ batch: inout Batch,
        _ statistics: inout ProcessorStatistics
    ) throws {
        let state = try attribution()  // once per poll, not a retain and release per event
        var folds: [ProfileFolder.Fold] = []
        folds.reserveCapacity(records.count)
        defer { profiles.fold(decoded, folds) }  // what was applied, even when a later event fails
        // Records and events read where they lie, through one buffer pointer each for the poll: a copy of an
        // event is ~200 bytes and a retain per string (a `Span` subscript passed to a `borrowing` parameter
        // still copied each event here).
        try records.withUnsafeBufferPointer { records throws in
            try decoded.withUnsafeBufferPointer { events throws in
                let accepted = accept(
                    records, events, applied: &batch.applied, failed: &batch.failed, statistics: &statistics)
                var partition = Int32.min
                var newestInRun = Int64.min
                // The tables borrowed once for the poll, not once per event.
                try state.update { tables in
                    for (position, index) in accepted.enumerated() {
                        // The index slots of the event a few ahead, loaded while this one is applied.
                        if position + Prefetch.distance < accepted.count {
                            let ahead = events.baseAddress! + accepted[position + Prefetch.distance]
                            tables.prefetch(ahead.pointee.kind, hash: ahead.pointee.pairHash)
                        }
                        let event = events.baseAddress! + index
                        let (timestampMs, idHash) = (event.pointee.timestampMs, event.pointee.idHash)
                        // A pair repeated past the limit is refused (kept), before its id counts as seen.
                        if let problem = tables.repeatProblem(event) {
                            refuse(records[index], .overLimit(problem), &batch.failed, &statistics)
                            continue
                        }
                        guard
                            try batch.seen.insert(
                                .init(timestampMs: timestampMs, idHash: idHash), from: store.connection)
                        else {
                            statistics.duplicates += 1
                            continue
                        }
                        apply(event, to: &folds, index: index, tables: &tables)
                        statistics.processed += 1
                        if records[index].partition != partition {
                            if partition != .min { batch.clock.advance(partition: partition, to: newestInRun) }
                            partition = records[index].partition
                            newestInRun = Int64.min
                        }
                        newestInRun = max(newestInRun, timestampMs)
                    }
                }
                if partition != .min { batch.clock.advance(partition: partition, to: newestInRun) }
            }
        }
    }

    /// The indices of the poll's events to apply: skips what the store already applied (by offset, moving
    /// `applied` on) and records that are not feedback events (kept in `failed`, counted and logged).
    private func accept(
        _ records: UnsafeBufferPointer<SourceRecord>, _ events: UnsafeBufferPointer<DecodedEvent>,
        applied: inout [Int32: Int64], failed: inout [FailedRecord], statistics: inout ProcessorStatistics
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
            func refuse(_ error: WireError) { self.refuse(records[index], error, &failed, &statistics) }
            guard events[index].isEvent else {
                // The reference decoding says why (the slow path, only for records that are not events).
                refuse(EventReader.reason(records[index].payload))
                continue
            }
            // A clock far ahead (or seconds sent as milliseconds) would move the watermark past every open
            // window: refused, kept with its reason.
            if events[index].isAhead(of: records[index].arrivalMs) {
                refuse(.fromTheFuture(eventMs: events[index].timestampMs, arrivalMs: records[index].arrivalMs))
                continue
            }
            accepted.append(index)
        }
        if appliedUpTo != applied[partition, default: -1] { applied[partition] = appliedUpTo }
        return accepted
    }

    /// Keeps `record` among the batch's failed records, refused for `error`.
    private func refuse(
        _ record: SourceRecord, _ error: WireError, _ failed: inout [FailedRecord],
        _ statistics: inout ProcessorStatistics
    ) {
        let kept = FailedRecord(
            source: source.name, partition: record.partition, offset: record.offset, error: error,
            payload: record.payload)
        statistics.failed += 1
        counters.failedRecord(kept)
        failed.append(kept)
    }

    /// Adds the event at `slot` (number `index` of its poll, a feedback event; its fields read in place) to the
    /// attribution state, and hands it to the profile folder with the labels a click or conversion
    /// without a recall source inherits it from (its impression's).
    func apply(
        _ slot: UnsafePointer<DecodedEvent>, to folds: inout [ProfileFolder.Fold], index: Int,
        tables: inout AttributionTables
    ) {
        var inherited: EventLabels?
        if slot.pointee.kind != .impression, !slot.pointee.requestID.isEmpty,
            slot.pointee.labels.recallSource == nil,
            // Only an impression whose attribution window is still open at the click (whatever the
            // batching, older ones may already be closed and gone).
            let shown = tables.labels(
                request: slot.pointee.requestID, item: slot.pointee.itemID,
                after: slot.pointee.timestampMs - attributionWindowMs, hash: slot.pointee.pairHash)
        {
            // A click carries no labels: it inherits its impression's recall source.
            inherited = shown
        }
        folds.append(ProfileFolder.Fold(index: Int32(index), inherited: inherited))
        switch slot.pointee.kind {
        case .impression:
            tables.add(
                AttributionState.Impression(
                    eventID: slot.pointee.eventID, requestID: slot.pointee.requestID, user: slot.pointee.profileKey,
                    device: slot.pointee.deviceID, item: slot.pointee.itemID, scene: slot.pointee.scene,
                    position: Int64(slot.pointee.position),
                    score: slot.pointee.score, labels: slot.pointee.labels, timestampMs: slot.pointee.timestampMs,
                    requestHash: slot.pointee.requestID.isEmpty ? nil : slot.pointee.pairHash))
        case .click, .conversion:
            tables.add(
                AttributionState.Action(
                    eventID: slot.pointee.eventID, type: slot.pointee.type, requestID: slot.pointee.requestID,
                    user: slot.pointee.profileKey,
                    item: slot.pointee.itemID, timestampMs: slot.pointee.timestampMs,
                    value: slot.pointee.amount ?? 0, kind: slot.pointee.kind, indexHash: slot.pointee.pairHash))
        case .other:
            break
        }
    }
}
