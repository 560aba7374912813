import Feedback
import Foundation

/// Reads feedback events from their JSON, as the collector writes them (``EventWireFormat``) and as older
/// writers did (the seed's layout, without `event_id` or `timestamp_ms`): the one reader of the wire
/// format, used by the stream processor and by anything else that takes events from outside.
///
/// ```swift
/// let event = try EventReader.decode(Array(#"{"user_id":"u1","item_id":"i9","type":"click","timestamp":1704067200}"#.utf8))
/// event.itemID        // "i9"
/// event.timestampMs   // 1704067200000
/// ```
public enum EventReader {
    /// The event in `bytes`, or why it is not one. `fallbackID` names an event without an `event_id`
    /// (the processor uses its partition and offset).
    public static func decode(_ bytes: [UInt8], fallbackID: String = "") throws(WireError) -> DecodedEvent {
        var labels = LabelCache()
        if let event = DecodedEvent.decode(json: bytes, fallbackID: fallbackID, labels: &labels) { return event }
        throw reason(bytes)
    }

    /// Why `bytes`, which ``decode(_:fallbackID:)`` refused, are not an event (the reference decoding: only
    /// for records that are not events).
    public static func reason(_ bytes: [UInt8]) -> WireError {
        do {
            _ = try DecodedEvent(reference: bytes, fallbackID: "")
            return .notAnEvent("refused by the fast reader only (a bug: please report it with the record)")
        } catch {
            return error
        }
    }
}
