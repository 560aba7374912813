import FastCollections
import Feedback
import FeedbackWire
import SQLiteStore

/// The attribution state's members and indexes (see ``AttributionState``): every open impression and every
/// action held once, in a ``Slab``, filed by second of event time (``TimeBuckets``) and by request + item and
/// user + item (``PairIndex``); and the batches' segments that store them. A value type with one owner, so
/// that its fields are checked for overlapping access when compiled, not at run time on every access.
struct AttributionTables: ~Copyable {
    typealias Impression = AttributionState.Impression
    typealias Action = AttributionState.Action

    /// A batch's segment in the store: how many of its members are still held (the members themselves are
    /// held by time, in `openByTime` and `actionsByTime`). A segment is written once, by its batch; later
    /// batches only raise its `bound` (the store's copy of its members is filtered by it when loaded) and
    /// delete it once empty, so closing windows and expiring actions never rewrite old segments.
    struct Segment {
        /// Members still held. The current batch's segment counts only those taken out (negative) until
        /// `persist` adds what the batch added.
        var held = 0
        /// Impressions: those at or before it are closed. Actions: those before it have expired.
        var bound = Int64.min
        var isEmpty: Bool { held == 0 }
    }

    /// A member held (its handle) and the segment that stores it.
    struct Held {
        let handle: Int32
        let segment: Int64
    }

    enum Kind: Int64 {
        case impressions = 0
        case actions = 1
    }

    /// The segments' layout. 2: positions and times (as the difference from the member before) in as few
    /// bytes as they need, a label set written once per segment and referred to by number after — a
    /// segment's raw bytes −40 %, and with them the work of deflating it, which a batch's end waits for.
    /// Layout 1 segments (8-byte integers, labels in full) are still read.
    static let layout: UInt8 = 2

    var impressions = Slab<Impression>()
    var actions = Slab<Action>()
    var impressionSegments: [Int64: Segment] = [:]
    var actionSegments: [Int64: Segment] = [:]
    /// What the current batch added (closed and expired ones included): its segments' contents.
    var currentImpressions: [Int32] = []
    var currentActions: [Int32] = []
    /// Every open impression and every action held, by time: what closing windows and expiring actions
    /// take from.
    var openByTime = TimeBuckets<Held>()
    var actionsByTime = TimeBuckets<Held>()
    /// Segments whose bound changed this batch (the current batch's is written whole).
    var changedImpressions = Set<Int64>()
    var changedActions = Set<Int64>()
    var current: Int64 = 0
    var openImpressions = PairIndex()  // by request id + item
    var actionsByRequest = PairIndex()  // request id + item (actions with a request id)
    var actionsByUser = PairIndex()  // user + item (actions without one)
    /// The actions joining the impression being closed (`collectJoining`), by handle.
    var joined: [Int32] = []

    /// Impressions waiting for their window.
    var impressionCount: Int { openByTime.count }
    /// Actions held for joining.
    var actionCount: Int { actionsByTime.count }

    /// Starts a batch: what it adds goes to segment `id` (a number no other batch uses).
    mutating func begin(segment id: Int64) {
        current = id
        impressionSegments[id] = Segment()
        actionSegments[id] = Segment()
        currentImpressions.removeAll(keepingCapacity: true)
        currentActions.removeAll(keepingCapacity: true)
        // Handles freed in the last batch may name new members from now on (not before: the batch's lists of
        // its members must not come to name others).
        impressions.recycle()
        actions.recycle()
    }

    mutating func add(_ impression: consuming Impression) { add(impression, to: current) }

    mutating func add(_ action: consuming Action) { add(action, to: current) }

    mutating func add(_ impression: consuming Impression, to segment: Int64) {
        let (timestampMs, hash) = (impression.timestampMs, impression.requestHash)
        let handle = impressions.insert(impression)
        // The current segment's members are counted by its list (added to its `held` by `persist`): a
        // dictionary update per event cost a hash of the segment number each.
        if segment == current {
            currentImpressions.append(handle)
        } else {
            impressionSegments[segment, default: Segment()].held += 1
        }
        openByTime.insert(Held(handle: handle, segment: segment), atMs: timestampMs)
        openImpressions.insert(handle, hash: hash)
    }

    mutating func add(_ action: consuming Action, to segment: Int64) {
        let (timestampMs, hash, byUser) = (action.timestampMs, action.indexHash, action.requestID.isEmpty)
        let handle = actions.insert(action)
        if segment == current {
            currentActions.append(handle)
        } else {
            actionSegments[segment, default: Segment()].held += 1
        }
        actionsByTime.insert(Held(handle: handle, segment: segment), atMs: timestampMs)
        if byUser {
            actionsByUser.insert(handle, hash: hash)
        } else {
            actionsByRequest.insert(handle, hash: hash)
        }
    }

    /// Why the event in `slot` cannot be held (nil: it can): its pair (request + item, or user + item for an
    /// action without a request id) already holds ``EventWireFormat/Limits/maxRepeatsPerPair`` members. Costs
    /// one probe of the index slot that adding it would probe anyway.
    func repeatProblem(_ slot: UnsafePointer<DecodedEvent>) -> String? {
        let limit = EventWireFormat.Limits.maxRepeatsPerPair
        var held = 0
        switch slot.pointee.kind {
        case .impression:
            guard !slot.pointee.requestID.isEmpty else { return nil }
            openImpressions.forEach(hash: slot.pointee.pairHash) { handle in
                if impressions[handle].requestID == slot.pointee.requestID,
                    impressions[handle].item == slot.pointee.itemID
                {
                    held += 1
                }
            }
            guard held >= limit else { return nil }
            return "more than \(limit) impressions of item \(slot.pointee.itemID.prefix(80)) in request "
                + "\(slot.pointee.requestID.prefix(80)) within the attribution window: a request shows an item once"
        case .click, .conversion:
            let byRequest = !slot.pointee.requestID.isEmpty
            (byRequest ? actionsByRequest : actionsByUser).forEach(hash: slot.pointee.pairHash) { handle in
                if actions[handle].item == slot.pointee.itemID,
                    byRequest
                        ? actions[handle].requestID == slot.pointee.requestID
                        : actions[handle].user == slot.pointee.profileKey
                {
                    held += 1
                }
            }
            guard held >= limit else { return nil }
            return "more than \(limit) clicks and conversions on item \(slot.pointee.itemID.prefix(80)) of "
                + (byRequest
                    ? "request \(slot.pointee.requestID.prefix(80))" : "user \(slot.pointee.profileKey.prefix(80))")
                + " within two attribution windows"
        case .other:
            return nil
        }
    }

    /// Starts loading the index slots that adding an event of `kind` filed under `hash` (its ``PairHash``)
    /// will probe: the indexes outgrow the caches, and waiting for their probes was most of adding
    /// impressions and actions. (An action without a request id is filed elsewhere: a wasted hint, rare.)
    func prefetch(_ kind: EventKind, hash: UInt64) {
        switch kind {
        case .impression: openImpressions.prefetch(hash: hash)
        case .click, .conversion:
            openImpressions.prefetch(hash: hash)
            actionsByRequest.prefetch(hash: hash)
        case .other: break
        }
    }

    /// Starts loading the slots where joining an impression filed under `requestHash` looks for its actions.
    func prefetchActions(requestHash: UInt64) {
        actionsByRequest.prefetch(hash: requestHash)
    }

    /// The labels of the open impression of `request` + `item` shown after `afterMs` (the earliest, by
    /// time then id), if any. `hash`: `PairHash.of(request, item)`, if known.
    func labels(request: String, item: String, after afterMs: Int64, hash: UInt64? = nil) -> EventLabels? {
        var best: Int32?
        // Fields read in place through the slab (a copy of each candidate retained its strings).
        openImpressions.forEach(hash: hash ?? PairHash.of(request, item)) { handle in
            guard impressions[handle].timestampMs > afterMs, impressions[handle].requestID == request,
                impressions[handle].item == item
            else { return }
            if let chosen = best,
                (impressions[chosen].timestampMs, impressions[chosen].eventID)
                    <= (impressions[handle].timestampMs, impressions[handle].eventID)
            {
                return
            }
            best = handle
        }
        return best.map { impressions[$0].labels }
    }

    /// Removes and returns the impressions shown at or before `limitMs`, ordered by time then id (moved into
    /// the closed impressions their samples are written from, not copied).
    mutating func close(through limitMs: Int64) -> [ClosedImpression] {
        // The buckets are taken out of `self` while the closure reads the slab (an access to both at once
        // would overlap), and put back.
        var open = TimeBuckets<Held>()
        swap(&open, &openByTime)
        let due = open.removeThrough(limitMs) { impressions[$0.handle].timestampMs }
        swap(&open, &openByTime)
        let taken = Self.take(due, from: &impressionSegments, changed: &changedImpressions, bound: limitMs)
        // Ordered as handles with their times, ids compared in place on equal times: sorting the closed
        // impressions themselves (~250 bytes each) moved them log n times over.
        var order = taken.map { (timestampMs: impressions[$0].timestampMs, handle: $0) }
        order.sort {
            $0.timestampMs != $1.timestampMs
                ? $0.timestampMs < $1.timestampMs : impressions[$0.handle].eventID < impressions[$1.handle].eventID
        }
        var closed: [ClosedImpression] = []
        closed.reserveCapacity(order.count)
        for position in order.indices {
            // The index slot of the impression a few ahead, loaded while this one is removed.
            if position + Prefetch.distance < order.count {
                openImpressions.prefetch(
                    hash: impressions[order[position + Prefetch.distance].handle].requestHash)
            }
            let handle = order[position].handle
            openImpressions.remove(handle, hash: impressions[handle].requestHash)
            closed.append(ClosedImpression(impression: impressions.remove(handle)))
        }
        return closed
    }

    /// Removes the impressions shown at or before `limitMs` (ordered by time then id), each with the clicks
    /// and conversions that joined it within `windowMs` (``join(_:windowMs:)``): the samples of the windows
    /// that closed.
    mutating func close(through limitMs: Int64, windowMs: Int64) -> [ClosedImpression] {
        var closed = close(through: limitMs)
        // Each closed impression joined where it lies (passing `closed[index].impression` copied it).
        closed.withUnsafeMutableBufferPointer { closed in
            for index in closed.indices {
                // The slots the impression a few ahead joins on, loaded while this one joins.
                if index + Prefetch.distance < closed.count {
                    prefetchActions(requestHash: closed[index + Prefetch.distance].impression.requestHash)
                }
                // Joined on request id + item; actions without a request id fall back to user + item. Both end
                // with the window, so that when a window is closed (which depends on batching) does not change
                // its sample.
                join(&closed[index], windowMs: windowMs)
            }
        }
        return closed
    }

    /// The actions that join `impression` within `windowMs` after it, in the order ``join(_:windowMs:)``
    /// counts them.
    mutating func actions(joining impression: Impression, windowMs: Int64) -> [Action] {
        collectJoining(impression, windowMs: windowMs)
        return joined.map { actions[$0] }
    }

    /// Counts into `closed` the clicks and conversions that join its impression within `windowMs` after it:
    /// first those on its request id + item (by id, then time: a total order, whatever order the index holds
    /// them in), then those without a request id on its user + item (by time, then id) — in that order, so
    /// that conversion values add up the same whatever the batching.
    mutating func join(_ closed: inout ClosedImpression, windowMs: Int64) {
        collectJoining(closed.impression, windowMs: windowMs)
        for handle in joined { closed.count(actions[handle]) }
    }

    /// Fills `joined` with the handles of the actions that join `impression` (see ``join(_:windowMs:)``): read
    /// where they lie, listed in a buffer kept from one impression to the next (an array of copied actions
    /// per closed impression was a tenth of closing windows).
    private mutating func collectJoining(_ impression: Impression, windowMs: Int64) {
        let end = impression.timestampMs + windowMs
        // The list is taken out of `self` while the indexes are read, and put back (capacity kept).
        var joined: [Int32] = []
        swap(&joined, &self.joined)
        defer { swap(&joined, &self.joined) }
        joined.removeAll(keepingCapacity: true)
        if !impression.requestID.isEmpty {
            actionsByRequest.forEach(hash: impression.requestHash) { handle in
                if actions[handle].timestampMs <= end, actions[handle].requestID == impression.requestID,
                    actions[handle].item == impression.item
                {
                    joined.append(handle)
                }
            }
            if joined.count > 1 {
                joined.sort {
                    (actions[$0].eventID, actions[$0].timestampMs) < (actions[$1].eventID, actions[$1].timestampMs)
                }
            }
        }
        // Most actions carry a request id: without any that do not, nothing to hash and look up.
        guard actionsByUser.count > 0 else { return }
        let byRequest = joined.count
        actionsByUser.forEach(hash: PairHash.of(impression.user, impression.item)) { handle in
            if actions[handle].timestampMs >= impression.timestampMs, actions[handle].timestampMs <= end,
                actions[handle].user == impression.user, actions[handle].item == impression.item
            {
                joined.append(handle)
            }
        }
        if joined.count - byRequest > 1 {
            joined[byRequest...].sort {
                (actions[$0].timestampMs, actions[$0].eventID) < (actions[$1].timestampMs, actions[$1].eventID)
            }
        }
    }

    /// Forgets actions older than `cutoffMs`.
    mutating func expireActions(before cutoffMs: Int64) {
        guard cutoffMs > Int64.min else { return }
        var held = TimeBuckets<Held>()
        swap(&held, &actionsByTime)
        let due = held.removeThrough(cutoffMs - 1) { actions[$0.handle].timestampMs }
        swap(&held, &actionsByTime)
        let expired = Self.take(due, from: &actionSegments, changed: &changedActions, bound: cutoffMs)
        for handle in expired {
            let action = actions.remove(handle)
            if action.requestID.isEmpty {
                actionsByUser.remove(handle, hash: action.indexHash)
            } else {
                actionsByRequest.remove(handle, hash: action.indexHash)
            }
        }
    }

    /// The handles of `taken` (just removed by time), each segment's count lowered and its bound raised to
    /// `bound`. They come in runs of one segment: its entry is updated once per run.
    private static func take(
        _ taken: [Held], from segments: inout [Int64: Segment], changed: inout Set<Int64>, bound: Int64
    ) -> [Int32] {
        var elements: [Int32] = []
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
            elements.append(held.handle)
        }
        endRun()
        return elements
    }
}
