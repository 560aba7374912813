/// Why bytes are not a feedback event (or a stored state segment is damaged), with what to fix.
///
/// ```swift
/// do { _ = try EventReader.decode(Array(#"{"type":"click"}"#.utf8)) } catch { print(error) }
/// // "not a feedback event: no item_id (a string) — every event names its item"
/// ```
public enum WireError: Error, Sendable, Hashable, CustomStringConvertible {
    /// Not a JSON object.
    case notJSON
    /// A JSON object that lacks what every event has, or holds a field of the wrong type.
    case notAnEvent(String)
    /// The event's time is outside the years 1 to 9999 (UTC).
    case timeOutOfRange
    /// A state segment of the processor's store is short or malformed.
    case damagedState(String)

    public var description: String {
        switch self {
        case .notJSON: "not a feedback event: not a JSON object"
        case .notAnEvent(let reason): "not a feedback event: \(reason)"
        case .timeOutOfRange:
            "not a feedback event: timestamp_ms (or timestamp, seconds) outside the years 1 to 9999"
        case .damagedState(let reason): "damaged state: \(reason)"
        }
    }
}
