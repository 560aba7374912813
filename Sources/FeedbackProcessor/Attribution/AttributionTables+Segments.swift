import FeedbackWire
import SQLiteStore

// The attribution tables as the store keeps them: loaded from the batches' segments at start-up, and the
// current batch's segments encoded and written (older ones' bounds raised, empty ones deleted) at its end.
extension AttributionTables {
    /// The state as the store holds it.
    init(store: SQLiteConnection) throws {
        // One segment at a time, so that the blobs are not all held at once beside what they decode to.
        let ids = try store.query("SELECT id FROM attribution_segments ORDER BY id", []).compactMap { row in
            if case .int(let id) = row[0] { id } else { nil }
        }
        for id in ids {
            guard
                let row = try store.query("SELECT bound, data FROM attribution_segments WHERE id = ?", [.int(id)])
                    .first,
                case .int(let bound) = row[0], case .blob(let data) = row[1]
            else { continue }
            var reader = try SegmentReader(
                SegmentDeflate.inflated(data, origin: store.path), origin: store.path, versions: 1...Self.layout)
            let segment = id >> 1
            // Layout 2: times relative to the member before, label sets by number after their first time.
            var previousMs: Int64 = 0
            var labelSets: [EventLabels] = []
            if id & 1 == Kind.impressions.rawValue {
                impressionSegments[segment] = Segment(bound: bound)
                while !reader.isAtEnd {
                    let impression = try Self.readImpression(
                        &reader, labelSets: &labelSets, previousMs: &previousMs, origin: store.path)
                    if impression.timestampMs > bound { add(impression, to: segment) }
                }
            } else {
                actionSegments[segment] = Segment(bound: bound)
                while !reader.isAtEnd {
                    let action = Action(
                        eventID: try reader.string(), type: try reader.string(), requestID: try reader.string(),
                        user: try reader.string(), item: try reader.string(),
                        timestampMs: reader.version == 1 ? try reader.int() : previousMs &+ (try reader.signed()),
                        value: try reader.double())
                    previousMs = action.timestampMs
                    if action.timestampMs >= bound { add(action, to: segment) }
                }
            }
        }
        // Nothing left in it (it cannot happen by itself: such a segment is deleted): deleted at the next batch.
        changedImpressions = Set(impressionSegments.filter { $0.value.isEmpty }.keys)
        changedActions = Set(actionSegments.filter { $0.value.isEmpty }.keys)
    }

    /// Encodes the batch's own segments on another thread (they no longer change once windows are closed
    /// and actions expired for the batch), while the store takes the batch's other writes.
    func encodeCurrent() -> BackgroundWork<AttributionState.CurrentSegments> {
        let (impressions, actions) = currentMembers()
        return BackgroundWork { Self.encode(impressions, actions) }
    }

    /// The members of the batch's own segments, encoded and deflated.
    private static func encode(_ impressions: [Impression], _ actions: [Action]) -> AttributionState.CurrentSegments {
        AttributionState.CurrentSegments(
            impressions: SegmentDeflate.deflated(encode(impressions)),
            actions: SegmentDeflate.deflated(encode(actions)))
    }

    /// Writes what this batch changed (in the caller's transaction): the batch's own segments whole, the
    /// bounds of older ones, and deletes those left empty.
    mutating func persist(to store: SQLiteConnection) throws {
        let (impressions, actions) = currentMembers()
        try persist(to: store, current: Self.encode(impressions, actions))
    }

    /// The members the current batch added that are still held — impressions after the segment's bound,
    /// actions from its bound on, as a restart would load them — copied (into arrays of their final size),
    /// for encoding on another thread.
    private func currentMembers() -> ([Impression], [Action]) {
        let closedThrough = impressionSegments[current]?.bound ?? Int64.min
        let expiredBefore = actionSegments[current]?.bound ?? Int64.min
        var kept: ([Impression], [Action]) = ([], [])
        kept.0.reserveCapacity(currentImpressions.count)
        kept.1.reserveCapacity(currentActions.count)
        for handle in currentImpressions where impressions.holds(handle) {
            if impressions[handle].timestampMs > closedThrough { kept.0.append(impressions[handle]) }
        }
        for handle in currentActions where actions.holds(handle) {
            if actions[handle].timestampMs >= expiredBefore { kept.1.append(actions[handle]) }
        }
        return kept
    }

    /// ``persist(to:)`` with the batch's own segments already encoded (``encodeCurrent()``).
    mutating func persist(to store: SQLiteConnection, current encoded: AttributionState.CurrentSegments) throws {
        // What the batch added to its own segments (closing and expiring took theirs out of `held` already).
        impressionSegments[current]?.held += currentImpressions.count
        actionSegments[current]?.held += currentActions.count
        try Self.save(
            &impressionSegments, kind: .impressions, changed: changedImpressions, current: current,
            encoded: encoded.impressions, store: store)
        try Self.save(
            &actionSegments, kind: .actions, changed: changedActions, current: current, encoded: encoded.actions,
            store: store)
        changedImpressions.removeAll()
        changedActions.removeAll()
    }

    private static func encode(_ impressions: [Impression]) -> [UInt8] {
        var writer = SegmentWriter(version: layout, capacity: impressions.count * 80)
        var labelSets: [ObjectIdentifier: Int] = [:]  // by identity: numbered from 1 in order of first use
        var previousMs: Int64 = 0
        for impression in impressions {
            writer.string(impression.eventID)
            writer.string(impression.requestID)
            writer.string(impression.user)
            writer.string(impression.device)
            writer.string(impression.item)
            writer.string(impression.scene)
            writer.signed(impression.position)
            writer.double(impression.score)
            if let number = labelSets[impression.labels.identity] {
                writer.count(number)
            } else {
                writer.count(0)  // a set not written before: in full, then number `labelSets.count + 1`
                writer.labels(impression.labels)
                labelSets[impression.labels.identity] = labelSets.count + 1
            }
            writer.signed(impression.timestampMs &- previousMs)
            previousMs = impression.timestampMs
        }
        return writer.bytes
    }

    private static func encode(_ actions: [Action]) -> [UInt8] {
        var writer = SegmentWriter(version: layout, capacity: actions.count * 48)
        var previousMs: Int64 = 0
        for action in actions {
            writer.string(action.eventID)
            writer.string(action.type)
            writer.string(action.requestID)
            writer.string(action.user)
            writer.string(action.item)
            writer.signed(action.timestampMs &- previousMs)
            previousMs = action.timestampMs
            writer.double(action.value)
        }
        return writer.bytes
    }

    /// One impression as `encode(_:)` wrote it (or layout 1 did).
    private static func readImpression(
        _ reader: inout SegmentReader, labelSets: inout [EventLabels], previousMs: inout Int64, origin: String
    ) throws -> Impression {
        let (eventID, requestID, user) = (try reader.string(), try reader.string(), try reader.string())
        let (device, item, scene) = (try reader.string(), try reader.string(), try reader.string())
        guard reader.version >= 2 else {
            return Impression(
                eventID: eventID, requestID: requestID, user: user, device: device, item: item, scene: scene,
                position: try reader.int(), score: try reader.double(), labels: EventLabels(try reader.labels()),
                timestampMs: try reader.int())
        }
        let (position, score) = (try reader.signed(), try reader.double())
        let number = try reader.number()
        let labels: EventLabels
        if number == 0 {
            labels = EventLabels(try reader.labels())
            labelSets.append(labels)
        } else {
            guard number <= labelSets.count else {
                throw ProcessorError.damagedState(
                    "\(origin): a segment refers to label set \(number) of \(labelSets.count); the store is damaged")
            }
            labels = labelSets[number - 1]
        }
        previousMs = previousMs &+ (try reader.signed())
        return Impression(
            eventID: eventID, requestID: requestID, user: user, device: device, item: item, scene: scene,
            position: position, score: score, labels: labels, timestampMs: previousMs)
    }

    private static func save(
        _ segments: inout [Int64: Segment], kind: Kind, changed: Set<Int64>, current: Int64, encoded: [UInt8],
        store: SQLiteConnection
    ) throws {
        for id in changed.union([current]) {
            guard let segment = segments[id] else { continue }
            let row = id << 1 | kind.rawValue
            if segment.isEmpty {
                segments[id] = nil
                if id != current { try store.run("DELETE FROM attribution_segments WHERE id = ?", [.int(row)]) }
            } else if id == current {
                try store.run(
                    "INSERT INTO attribution_segments (id, bound, data) VALUES (?, ?, ?)",
                    [.int(row), .int(segment.bound), .blob(encoded)])
            } else {
                try store.run(
                    "UPDATE attribution_segments SET bound = ? WHERE id = ?", [.int(segment.bound), .int(row)])
            }
        }
    }
}
