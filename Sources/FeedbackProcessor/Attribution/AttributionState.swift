import FastCollections
import FeedbackWire
import SQLiteStore

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
    private var tables: AttributionTables

    /// An impression waiting for its window to close (held once, in a ``Slab``; the indexes file its handle).
    struct Impression: Sendable {
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

        /// `requestHash`: `PairHash.of(requestID, item)`, computed here when not given.
        init(
            eventID: String, requestID: String, user: String, device: String, item: String, scene: String,
            position: Int64, score: Double, labels: EventLabels, timestampMs: Int64, requestHash: UInt64? = nil
        ) {
            self.requestHash = requestHash ?? PairHash.of(requestID, item)
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
    struct Action: Sendable {
        let eventID: String
        let type: String
        let requestID: String
        let user: String
        let item: String
        let timestampMs: Int64
        let value: Double
        /// `type` recognised (closing a window counts clicks and conversions apart).
        let kind: EventKind
        /// Where the indexes file it: its request id + item's ``PairHash``, or user + item's without a request.
        let indexHash: UInt64

        /// `indexHash`: see its comment; computed here when not given. `kind`: `EventKind(type)`, if known.
        init(
            eventID: String, type: String, requestID: String, user: String, item: String, timestampMs: Int64,
            value: Double, kind: EventKind? = nil, indexHash: UInt64? = nil
        ) {
            self.indexHash = indexHash ?? (requestID.isEmpty ? PairHash.of(user, item) : PairHash.of(requestID, item))
            self.eventID = eventID
            self.type = type
            self.kind = kind ?? EventKind(type)
            self.requestID = requestID
            self.user = user
            self.item = item
            self.timestampMs = timestampMs
            self.value = value
        }
    }

    /// The batch's own segments as they will be written, encoded (their items as closing windows and
    /// expiring actions left them).
    struct CurrentSegments: Sendable {
        var impressions: [UInt8]
        var actions: [UInt8]
    }

    /// Impressions waiting for their window.
    var impressionCount: Int { tables.impressionCount }
    /// Actions held for joining.
    var actionCount: Int { tables.actionCount }

    /// The state as the store holds it.
    init(store: SQLiteConnection) throws {
        tables = try AttributionTables(store: store)
    }

    /// Starts a batch: what it adds goes to segment `id` (a number no other batch uses).
    func begin(segment id: Int64) { tables.begin(segment: id) }

    /// Holds `impression` until its window closes.
    func add(_ impression: consuming Impression) { tables.add(impression) }

    /// Holds `action` for the impressions it may join.
    func add(_ action: consuming Action) { tables.add(action) }

    /// Runs `body` with the tables borrowed for changing, once: for a loop that adds a poll's events (a call
    /// per event through this class would check its access to the tables at run time on every event).
    func update<Result>(_ body: (inout AttributionTables) throws -> Result) rethrows -> Result {
        try body(&tables)
    }

    /// Starts loading the index slots that adding an event of `kind` filed under `hash` will probe.
    func prefetch(_ kind: EventKind, hash: UInt64) { tables.prefetch(kind, hash: hash) }

    /// Starts loading the slots where joining an impression filed under `requestHash` looks for its actions.
    func prefetchActions(requestHash: UInt64) { tables.prefetchActions(requestHash: requestHash) }

    /// The labels of the open impression of `request` + `item` shown after `afterMs` (the earliest, by
    /// time then id), if any. `hash`: `PairHash.of(request, item)`, if known.
    func labels(request: String, item: String, after afterMs: Int64, hash: UInt64? = nil) -> EventLabels? {
        tables.labels(request: request, item: item, after: afterMs, hash: hash)
    }

    /// Removes and returns the impressions shown at or before `limitMs`, ordered by time then id.
    func close(through limitMs: Int64) -> [ClosedImpression] { tables.close(through: limitMs) }

    /// Removes the impressions shown at or before `limitMs`, each with what joined it within `windowMs`.
    func close(through limitMs: Int64, windowMs: Int64) -> [ClosedImpression] {
        tables.close(through: limitMs, windowMs: windowMs)
    }

    /// The actions that join `impression` within `windowMs` after it.
    func actions(joining impression: Impression, windowMs: Int64) -> [Action] {
        tables.actions(joining: impression, windowMs: windowMs)
    }

    /// Forgets actions older than `cutoffMs`.
    func expireActions(before cutoffMs: Int64) { tables.expireActions(before: cutoffMs) }

    /// Encodes the batch's own segments on another thread, while the store takes the batch's other writes.
    func encodeCurrent() -> BackgroundWork<CurrentSegments> { tables.encodeCurrent() }

    /// Writes what this batch changed (in the caller's transaction).
    func persist(to store: SQLiteConnection) throws { try tables.persist(to: store) }

    /// ``persist(to:)`` with the batch's own segments already encoded (``encodeCurrent()``).
    func persist(to store: SQLiteConnection, current encoded: CurrentSegments) throws {
        try tables.persist(to: store, current: encoded)
    }
}
