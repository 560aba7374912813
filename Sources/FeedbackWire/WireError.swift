import Feedback

/// Why bytes are not a feedback event (or a stored state segment is damaged), with what to fix.
///
/// ```swift
/// do { _ = try EventReader.decode(Array(#"{"type":"click"}"#.utf8)) } catch { print(error) }
/// // "not a feedback event: no item_id (a string) — every event names its item"
/// ```
public enum WireError: Error, Sendable, Hashable, CustomStringConvertible {
    /// Not a JSON object.
    case notJSON
    /// A JSON object that lacks what every event has.
    case notAnEvent(String)
    /// A field of the wrong type: the field and what it must be.
    case wrongType(field: String, expected: String)
    /// Over one of ``EventWireFormat/Limits`` (the text says which and by how much).
    case overLimit(String)
    /// The event's time is outside the years 1 to 9999 (UTC).
    case timeOutOfRange
    /// The event's time is further ahead of the record's arrival than ``EventWireFormat/Limits/maxFutureSkewMs``.
    case fromTheFuture(eventMs: Int64, arrivalMs: Int64)
    /// A state segment of the processor's store is short or malformed.
    case damagedState(String)

    public var description: String {
        switch self {
        case .notJSON: "not a feedback event: not a JSON object"
        case .notAnEvent(let reason): "not a feedback event: \(reason)"
        case .wrongType(let field, let expected): "not a feedback event: \(field) must be \(expected)"
        case .overLimit(let reason): "not a feedback event: \(reason)"
        case .timeOutOfRange:
            "not a feedback event: timestamp_ms (or timestamp, seconds) outside the years 1 to 9999"
        case .fromTheFuture(let event, let arrival):
            """
            not a feedback event: its time is \((event - arrival) / 60_000) minutes after the record arrived \
            (at most \(EventWireFormat.Limits.maxFutureSkewMs / 60_000)): fix the sender's clock or unit (milliseconds)
            """
        case .damagedState(let reason): "damaged state: \(reason)"
        }
    }

    /// A short name for metrics and the failed-events table (`not_json`, `wrong_type`, ...).
    public var kind: String {
        switch self {
        case .notJSON: "not_json"
        case .notAnEvent: "not_an_event"
        case .wrongType: "wrong_type"
        case .overLimit: "over_limit"
        case .timeOutOfRange: "time_out_of_range"
        case .fromTheFuture: "from_the_future"
        case .damagedState: "damaged_state"
        }
    }
}
