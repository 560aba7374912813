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
}
