import FeedbackLog

/// The impressions whose attribution window is still open and the clicks and conversions that may still
/// join one: the processor's join state, held in memory and kept in its store as segments.
///
/// Every batch adds one segment of impressions and one of actions (a row each, written in the batch's
/// transaction); closing windows and expiring actions — which take what is due by event time, not by
/// segment — raise the bounds of the segments they cut through and delete those left empty, in the same
/// transaction. A restart loads the segments back, so the state always matches the offsets committed
/// with it.
///
/// Why in memory: as table rows, every impression and action cost two or three B-tree inserts and every
/// sample two indexed look-ups, about half of the processor's time. Memory is bounded by the windows:
/// the impressions of one attribution window and the actions of two (see README, "Processor state").
///
/// Not thread-safe: one processor drives it.
final class AttributionState {
    /// An impression waiting for its window to close. (Classes: held in a segment and an index, and moved
    /// between arrays, at the cost of one reference count instead of one per string.)
    final class Impression: Sendable {
        let eventID: String
        let requestID: String
        let user: String
        let device: String
        let item: String
        let scene: String
        let position: Int64
        let score: Double
        let labels: EventLabels
        let timestampMs: Int64
        /// Its request id + item's ``PairHash``: where the indexes file it and its actions by request.
        let requestHash: UInt64

        init(
            eventID: String, requestID: String, user: String, device: String, item: String, scene: String,
            position: Int64, score: Double, labels: EventLabels, timestampMs: Int64
        ) {
            requestHash = PairHash.of(requestID, item)
            self.eventID = eventID
            self.requestID = requestID
            self.user = user
            self.device = device
            self.item = item
            self.scene = scene
            self.position = position
            self.score = score
            self.labels = labels
            self.timestampMs = timestampMs
        }
    }

    /// A click or conversion that an impression may still join.
    final class Action: Sendable {
        let eventID: String
        let type: String
        let requestID: String
        let user: String
        let item: String
        let timestampMs: Int64
        let value: Double
        /// Where the indexes file it: its request id + item's ``PairHash``, or user + item's without a request.
        let indexHash: UInt64

        init(
            eventID: String, type: String, requestID: String, user: String, item: String, timestampMs: Int64,
            value: Double
        ) {
            indexHash = requestID.isEmpty ? PairHash.of(user, item) : PairHash.of(requestID, item)
            self.eventID = eventID
            self.type = type
            self.requestID = requestID
            self.user = user
            self.item = item
            self.timestampMs = timestampMs
            self.value = value
        }
    }

    /// A batch's segment in the store: how many of its members are still held (the members themselves are
    /// held by time, in `openByTime` and `actionsByTime`). A segment is written once, by its batch; later
    /// batches only raise its `bound` (the store's copy of its members is filtered by it when loaded) and
    /// delete it once empty, so closing windows and expiring actions never rewrite old segments.
    private struct Segment {
        var held = 0
        /// Impressions: those at or before it are closed. Actions: those before it have expired.
        var bound = Int64.min
        var isEmpty: Bool { held == 0 }
    }

    /// A member held and the segment that stores it.
    private struct Held<Element> {
        let element: Element
        let segment: Int64
    }

    private enum Kind: Int64 {
        case impressions = 0
        case actions = 1
    }

    private static let layout: UInt8 = 1

    // The state's fields skip Swift's run-time exclusivity checks (a fifth of adding an impression or action went to them):
    // only this class's methods touch them, on the one thread that drives it, and none of them accesses a
    // field while passing it `inout` (the checks stay on in everything else).
    @exclusivity(unchecked) private var impressionSegments: [Int64: Segment] = [:]
    @exclusivity(unchecked) private var actionSegments: [Int64: Segment] = [:]
    /// What the current batch added (closed and expired ones included): its segments' contents.
    @exclusivity(unchecked) private var currentImpressions: [Impression] = []
    @exclusivity(unchecked) private var currentActions: [Action] = []
    /// Every open impression and every action held, by time: what closing windows and expiring actions
    /// take from.
    @exclusivity(unchecked) private var openByTime = TimeBuckets<Held<Impression>>()
    @exclusivity(unchecked) private var actionsByTime = TimeBuckets<Held<Action>>()
    /// Segments whose bound changed this batch (the current batch's is written whole).
    @exclusivity(unchecked) private var changedImpressions = Set<Int64>()
    @exclusivity(unchecked) private var changedActions = Set<Int64>()
    @exclusivity(unchecked) private var current: Int64 = 0
    @exclusivity(unchecked) private var openImpressions = PairIndex<Impression>()  // by request id + item
    @exclusivity(unchecked) private var actionsByRequest = PairIndex<Action>()  // request id + item (actions with a request id)
    @exclusivity(unchecked) private var actionsByUser = PairIndex<Action>()  // user + item (actions without one)

    /// Impressions waiting for their window.
    var impressionCount: Int { openByTime.count }
    /// Actions held for joining.
    var actionCount: Int { actionsByTime.count }

    /// The state as the store holds it.
    init(store: SQLiteConnection) throws(LocalLogError) {
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
                SegmentDeflate.inflated(data, origin: store.path), origin: store.path, version: Self.layout)
            let segment = id >> 1
            if id & 1 == Kind.impressions.rawValue {
                impressionSegments[segment] = Segment(bound: bound)
                while !reader.isAtEnd {
                    let impression = Impression(
                        eventID: try reader.string(), requestID: try reader.string(), user: try reader.string(),
                        device: try reader.string(), item: try reader.string(), scene: try reader.string(),
                        position: try reader.int(), score: try reader.double(),
                        labels: EventLabels(try reader.labels()),
                        timestampMs: try reader.int())
                    if impression.timestampMs > bound { add(impression, to: segment) }
                }
            } else {
                actionSegments[segment] = Segment(bound: bound)
                while !reader.isAtEnd {
                    let action = Action(
                        eventID: try reader.string(), type: try reader.string(), requestID: try reader.string(),
                        user: try reader.string(), item: try reader.string(), timestampMs: try reader.int(),
                        value: try reader.double())
                    if action.timestampMs >= bound { add(action, to: segment) }
                }
            }
        }
        // Nothing left in it (it cannot happen by itself: such a segment is deleted): deleted at the next batch.
        changedImpressions = Set(impressionSegments.filter { $0.value.isEmpty }.keys)
        changedActions = Set(actionSegments.filter { $0.value.isEmpty }.keys)
    }

    /// Starts a batch: what it adds goes to segment `id` (a number no other batch uses).
    func begin(segment id: Int64) {
        current = id
        impressionSegments[id] = Segment()
        actionSegments[id] = Segment()
        currentImpressions = []
        currentActions = []
    }

    func add(_ impression: Impression) { add(impression, to: current) }

    func add(_ action: Action) { add(action, to: current) }

    private func add(_ impression: Impression, to segment: Int64) {
        impressionSegments[segment, default: Segment()].held += 1
        if segment == current { currentImpressions.append(impression) }
        openByTime.insert(Held(element: impression, segment: segment), atMs: impression.timestampMs)
        openImpressions.insert(impression, hash: impression.requestHash)
    }

    private func add(_ action: Action, to segment: Int64) {
        actionSegments[segment, default: Segment()].held += 1
        if segment == current { currentActions.append(action) }
        actionsByTime.insert(Held(element: action, segment: segment), atMs: action.timestampMs)
        if action.requestID.isEmpty {
            actionsByUser.insert(action, hash: action.indexHash)
        } else {
            actionsByRequest.insert(action, hash: action.indexHash)
        }
    }

    /// The labels of the open impression of `request` + `item` shown after `afterMs` (the earliest, by
    /// time then id), if any.
    func labels(request: String, item: String, after afterMs: Int64) -> EventLabels? {
        var best: Impression?
        openImpressions.forEach(hash: PairHash.of(request, item)) { impression in
            guard impression.timestampMs > afterMs, impression.requestID == request, impression.item == item else {
                return
            }
            if let chosen = best,
                (chosen.timestampMs, chosen.eventID) <= (impression.timestampMs, impression.eventID)
            {
                return
            }
            best = impression
        }
        return best?.labels
    }

    /// Removes and returns the impressions shown at or before `limitMs`, ordered by time then id.
    func close(through limitMs: Int64) -> [Impression] {
        var closed = Self.take(
            openByTime.removeThrough(limitMs) { $0.element.timestampMs }, from: &impressionSegments,
            changed: &changedImpressions, bound: limitMs)
        for impression in closed {
            openImpressions.remove(impression, hash: impression.requestHash)
        }
        closed.sort { ($0.timestampMs, $0.eventID) < ($1.timestampMs, $1.eventID) }
        return closed
    }

    /// The actions that join `impression` within `windowMs` after it: first those on its request id + item
    /// (by id, then time: a total order, whatever order the index holds them in), then those without a request id on its user + item (by time, then id).
    func actions(joining impression: Impression, windowMs: Int64) -> [Action] {
        let end = impression.timestampMs + windowMs
        var joined: [Action] = []
        if !impression.requestID.isEmpty {
            actionsByRequest.forEach(hash: impression.requestHash) { action in
                if action.timestampMs <= end, action.requestID == impression.requestID, action.item == impression.item {
                    joined.append(action)
                }
            }
            joined.sort { ($0.eventID, $0.timestampMs) < ($1.eventID, $1.timestampMs) }
        }
        var byUser: [Action] = []
        actionsByUser.forEach(hash: PairHash.of(impression.user, impression.item)) { action in
            if action.timestampMs >= impression.timestampMs, action.timestampMs <= end, action.user == impression.user,
                action.item == impression.item
            {
                byUser.append(action)
            }
        }
        if !byUser.isEmpty {
            joined += byUser.sorted { ($0.timestampMs, $0.eventID) < ($1.timestampMs, $1.eventID) }
        }
        return joined
    }

    /// Forgets actions older than `cutoffMs`.
    func expireActions(before cutoffMs: Int64) {
        guard cutoffMs > Int64.min else { return }
        let expired = Self.take(
            actionsByTime.removeThrough(cutoffMs - 1) { $0.element.timestampMs }, from: &actionSegments,
            changed: &changedActions, bound: cutoffMs)
        for action in expired {
            if action.requestID.isEmpty {
                actionsByUser.remove(action, hash: action.indexHash)
            } else {
                actionsByRequest.remove(action, hash: action.indexHash)
            }
        }
    }

    /// The elements of `taken` (just removed by time), each segment's count lowered and its bound raised to
    /// `bound`. They come in runs of one segment: its entry is updated once per run.
    private static func take<Element>(
        _ taken: [Held<Element>], from segments: inout [Int64: Segment], changed: inout Set<Int64>, bound: Int64
    ) -> [Element] {
        var elements: [Element] = []
        elements.reserveCapacity(taken.count)
        var segment = Int64.min
        var run = 0
        func endRun() {
            guard run > 0 else { return }
            segments[segment]!.held -= run
            segments[segment]!.bound = max(segments[segment]!.bound, bound)
            changed.insert(segment)
        }
        for held in taken {
            if held.segment != segment {
                endRun()
                segment = held.segment
                run = 0
            }
            run += 1
            elements.append(held.element)
        }
        endRun()
        return elements
    }

    /// The batch's own segments as they will be written, encoded (their items as closing windows and
    /// expiring actions left them).
    struct CurrentSegments: Sendable {
        var impressions: [UInt8]
        var actions: [UInt8]
    }

    /// Encodes the batch's own segments on another thread (they no longer change once windows are closed
    /// and actions expired for the batch), while the store takes the batch's other writes.
    func encodeCurrent() -> BackgroundWork<CurrentSegments> {
        let (impressions, actions) = (currentImpressions, currentActions)
        let closedThrough = impressionSegments[current]?.bound ?? Int64.min
        let expiredBefore = actionSegments[current]?.bound ?? Int64.min
        return BackgroundWork {
            Self.encode(impressions, closedThrough: closedThrough, actions: actions, expiredBefore: expiredBefore)
        }
    }

    /// The members of the batch's own segments still held — impressions after `closedThrough`, actions from
    /// `expiredBefore` on — encoded and deflated.
    private static func encode(
        _ impressions: [Impression], closedThrough: Int64, actions: [Action], expiredBefore: Int64
    ) -> CurrentSegments {
        CurrentSegments(
            impressions: SegmentDeflate.deflated(encode(impressions.filter { $0.timestampMs > closedThrough })),
            actions: SegmentDeflate.deflated(encode(actions.filter { $0.timestampMs >= expiredBefore })))
    }

    /// Writes what this batch changed (in the caller's transaction): the batch's own segments whole, the
    /// bounds of older ones, and deletes those left empty.
    func persist(to store: SQLiteConnection) throws(LocalLogError) {
        try persist(
            to: store,
            current: Self.encode(
                currentImpressions, closedThrough: impressionSegments[current]?.bound ?? Int64.min,
                actions: currentActions, expiredBefore: actionSegments[current]?.bound ?? Int64.min))
    }

    /// ``persist(to:)`` with the batch's own segments already encoded (``encodeCurrent()``).
    func persist(to store: SQLiteConnection, current encoded: CurrentSegments) throws(LocalLogError) {
        try save(
            &impressionSegments, kind: .impressions, changed: changedImpressions, current: encoded.impressions,
            store: store)
        try save(&actionSegments, kind: .actions, changed: changedActions, current: encoded.actions, store: store)
        changedImpressions.removeAll()
        changedActions.removeAll()
    }

    private static func encode(_ impressions: [Impression]) -> [UInt8] {
        var writer = SegmentWriter(version: layout, capacity: impressions.count * 128)
        for impression in impressions {
            writer.string(impression.eventID)
            writer.string(impression.requestID)
            writer.string(impression.user)
            writer.string(impression.device)
            writer.string(impression.item)
            writer.string(impression.scene)
            writer.int(impression.position)
            writer.double(impression.score)
            writer.labels(impression.labels)
            writer.int(impression.timestampMs)
        }
        return writer.bytes
    }

    private static func encode(_ actions: [Action]) -> [UInt8] {
        var writer = SegmentWriter(version: layout, capacity: actions.count * 64)
        for action in actions {
            writer.string(action.eventID)
            writer.string(action.type)
            writer.string(action.requestID)
            writer.string(action.user)
            writer.string(action.item)
            writer.int(action.timestampMs)
            writer.double(action.value)
        }
        return writer.bytes
    }

    private func save(
        _ segments: inout [Int64: Segment], kind: Kind, changed: Set<Int64>, current encoded: [UInt8],
        store: SQLiteConnection
    ) throws(LocalLogError) {
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
