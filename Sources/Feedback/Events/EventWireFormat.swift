/// The one definition of a feedback event's JSON: its keys, the order the collector writes them in, and
/// the range of times an event may carry. The encoder (``FeedbackEvent/jsonBytes()``) and the reader
/// (FeedbackWire's `EventReader`) follow it; their fast paths spell the keys as literals, and tests check
/// those against this list.
///
/// ```swift
/// EventWireFormat.fields.first   // "user_id"
/// EventWireFormat.timeRange.contains(event.timestampMs)
/// ```
public enum EventWireFormat {
    // The seed's fields, in the seed's order (never renamed).
    public static let userID = "user_id"
    public static let itemID = "item_id"
    public static let scene = "scene"
    public static let type = "type"
    /// Unix seconds (the seed's time).
    public static let timestamp = "timestamp"
    public static let position = "position"
    public static let score = "score"
    /// An object of strings (`recall_source`, `recall_type`, ...).
    public static let labels = "labels"
    /// Any JSON object; the processor reads `amount` and `category` from it.
    public static let extras = "extras"
    // Ours, after the seed's.
    public static let eventID = "event_id"
    public static let requestID = "request_id"
    public static let deviceID = "device_id"
    /// Unix milliseconds; read before `timestamp` when present.
    public static let timestampMs = "timestamp_ms"
    public static let schemaVersion = "schema_version"

    /// Keys of `extras` that the processor reads: a conversion's value and the item's category.
    public static let amount = "amount"
    public static let category = "category"

    /// Every top-level key, in the order the collector writes them.
    public static let fields = [
        userID, itemID, scene, type, timestamp, position, score, labels, extras, eventID, requestID, deviceID,
        timestampMs, schemaVersion,
    ]

    /// The version the collector writes in `schema_version`.
    public static let version = FeedbackEvent.schemaVersion

    /// Event times readers take, in Unix milliseconds: the years 1 to 9999 (UTC). Outside them an event is
    /// invalid (a time near the ends of `Int64` would overflow window arithmetic downstream).
    public static let timeRange: ClosedRange<Int64> = -62_135_596_800_000...253_402_300_799_999

    /// What every reader refuses and every writer will not write: the one list of the wire format's limits.
    /// A record over a limit is not an event (the processor keeps it with its reason among the failed ones).
    ///
    /// ```swift
    /// EventWireFormat.Limits.maxDepth                            // 16
    /// EventWireFormat.Limits.problem(id: "alice\u{0}x", field: "user_id")  // "user_id holds a NUL character …"
    /// ```
    public enum Limits {
        /// Bytes of one record (its JSON).
        public static let maxRecordBytes = 1 << 20
        /// Nesting of arrays and objects, the event's own object counting as 1 (`extras` values may nest).
        public static let maxDepth = 16
        /// UTF-8 bytes of an id (`event_id`, `request_id`, `user_id`, `device_id`, `item_id`), `scene` and `type`.
        public static let maxIDBytes = 512
        /// Entries in `labels`, and UTF-8 bytes of each label's name and value.
        public static let maxLabels = 64
        public static let maxLabelBytes = 512
        /// A conversion's `extras.amount`: finite and at most this far from zero.
        public static let maxAmount = 1e15
        /// How far ahead of its arrival (the broker's or local log's time of the record) an event's time may be.
        public static let maxFutureSkewMs: Int64 = 3 * 3_600_000
        /// Impressions of one item in one request, and clicks or conversions on one item of one request (or
        /// of one user, without a request id), held at once by the processor's attribution: a request shows
        /// an item once, so thousands of them are a client's loop, and each would make joining slower for all.
        public static let maxRepeatsPerPair = 256

        /// Why `id`, the value of `field`, is not allowed (nil: it is): too long, or holding a NUL, which C
        /// libraries (SQLite's bindings, hiredis) would cut it short at — `alice\u{0}x` would read and write
        /// alice's profile. (A String is valid UTF-8 by construction; readers refuse bytes that are not.)
        public static func problem(id: String, field: String) -> String? {
            let utf8 = id.utf8
            if utf8.count > maxIDBytes {
                return "\(field) is \(utf8.count) bytes: at most \(maxIDBytes)"
            }
            let hasNUL = utf8.withContiguousStorageIfAvailable { $0.contains(0) } ?? utf8.contains(0)
            return hasNUL ? "\(field) holds a NUL character (\\u0000): ids are text without NULs" : nil
        }

        /// Why `amount` is not allowed (nil: it is).
        public static func problem(amount: Double) -> String? {
            amount.isFinite && abs(amount) <= maxAmount
                ? nil : "extras.amount is \(amount): a finite number of at most \(maxAmount) in size"
        }
    }
}
