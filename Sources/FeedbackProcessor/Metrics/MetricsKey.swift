import FeedbackWire
import SQLiteStore

/// The dimensions of a live-metrics window — minute × scene × recall source — declared here once: the
/// store's table and queries, the batch's totals and the windows handed to sinks and printed all derive
/// from this type. Adding a dimension: a field here (with its column, value, row reading and event
/// matching), then the public ``MetricsWindow`` field and a sink's own schema.
///
/// ```swift
/// let key = MetricsKey(minute: 1_704_067_200_000, scene: "feed", source: "hot")
/// try store.run("SELECT * FROM metrics WHERE \(MetricsKey.matchingColumns)", key.values)
/// ```
struct MetricsKey: Hashable, Sendable {
    var minute: Int64
    var scene: String
    var source: String

    /// The store's key columns, in order: the metrics table's primary key.
    static let columns = ["minute_ms", "scene", "source"]
    /// Their SQL types, as `columns`.
    static let columnTypes = ["INTEGER", "TEXT", "TEXT"]
    /// `minute_ms = ? AND scene = ? AND ...`, bound to ``values``.
    static let matchingColumns = columns.map { "\($0) = ?" }.joined(separator: " AND ")

    /// The key as values bound to ``columns``.
    var values: [SQLiteConnection.Value] { [.int(minute), .text(scene), .text(source)] }

    /// The key of `event`'s window, given the minute it falls in and its recall source (its own, or its
    /// impression's).
    init(minute: Int64, event: borrowing DecodedEvent, source: String) {
        self.init(minute: minute, scene: event.scene, source: source)
    }

    init(minute: Int64, scene: String, source: String) {
        self.minute = minute
        self.scene = scene
        self.source = source
    }

    /// The key held in the first ``columns``.count values of `row`; nil when they are not its types.
    init?(row: ArraySlice<SQLiteConnection.Value>) {
        let row = Array(row.prefix(Self.columns.count))
        guard row.count == Self.columns.count, case .int(let minute) = row[0], case .text(let scene) = row[1],
            case .text(let source) = row[2]
        else { return nil }
        self.init(minute: minute, scene: scene, source: source)
    }

    /// Whether `event`, with this recall source, falls in this window of its minute (the batch's windows of a
    /// minute are found by this scan rather than by hashing the key's strings per event).
    @inline(__always) func matches(_ event: borrowing DecodedEvent, source: String) -> Bool {
        scene == event.scene && self.source == source
    }

    /// The minute (Unix milliseconds, rounded down; before 1970 too) of a time in milliseconds.
    @inline(__always) static func minute(of timestampMs: Int64) -> Int64 {
        timestampMs - ((timestampMs % 60_000) + 60_000) % 60_000
    }
}
