import FastCollections
import Feedback
import Foundation

/// The fields of a feedback event's JSON that the processor uses. Events from older writers (the seed's
/// layout, without `event_id` or `timestamp_ms`) are accepted: ids then come from the input position and
/// milliseconds from `timestamp`.
public struct DecodedEvent: Equatable, Sendable {
    public var eventID: String
    public var requestID: String
    public var userID: String
    public var deviceID: String
    public var itemID: String
    public var scene: String
    public var type: String
    /// `type`, recognised once here: the processor's and the profile folder's threads branch on it per
    /// event, and each comparison of two different Strings is a call into the runtime.
    public var kind: EventKind
    public var timestampMs: Int64
    public var position: Int
    public var score: Double
    package var labels: EventLabels
    public var amount: Double?
    public var category: String?
    /// `eventID`'s ``EventIDHash`` and where the attribution indexes file the event — its request id +
    /// item's ``PairHash``, or its profile key + item's without a request id: computed where the event is
    /// decoded, off the processor's thread, which applies events one after another.
    package var idHash: Int64 = 0
    package var pairHash: UInt64 = 0
    /// `profileKey`'s hash, as `ProfileFolder` keys profiles by it.
    package var profileHash: UInt64 = 0
    /// False for ``notAnEvent``, which stands for a record that is not a feedback event in a poll's events.
    package var isEvent = true

    /// In a poll's events, a record that is not a feedback event. A poll's events are not optionals: an
    /// optional this large was copied and destroyed through `Optional`'s generic value witnesses, ~200
    /// instructions more per event than the event itself.
    package static let notAnEvent: DecodedEvent = {
        var event = DecodedEvent(
            eventID: "", requestID: "", userID: "", deviceID: "", itemID: "", scene: "", type: "", kind: .other,
            timestampMs: 0, position: 0, score: 0, labels: .empty, amount: nil, category: nil)
        event.isEvent = false
        return event
    }()

    /// Sets `idHash`, `pairHash` and `profileHash` from the ids.
    package mutating func hashIDs() {
        idHash = EventIDHash.of(eventID)
        profileHash = PairHash.of(profileKey, "")
        pairHash = requestID.isEmpty ? PairHash.of(profileKey, itemID) : PairHash.of(requestID, itemID)
    }

    /// The profile key: the user, else the device (anonymous traffic).
    @inlinable public var profileKey: String { userID.isEmpty ? deviceID : userID }

    /// Whether the event's time is further ahead of its record's arrival (Unix milliseconds; 0 or less:
    /// unknown, never ahead) than ``EventWireFormat/Limits/maxFutureSkewMs``.
    @inline(__always) package func isAhead(of arrivalMs: Int64) -> Bool {
        arrivalMs > 0 && timestampMs > arrivalMs &+ EventWireFormat.Limits.maxFutureSkewMs
    }

    /// Event times readers take (``EventWireFormat/timeRange``).
    package static var timeRange: ClosedRange<Int64> { EventWireFormat.timeRange }

    /// The event's time: `timestamp_ms`, else `timestamp` (seconds) × 1000, else 0; nil outside ``timeRange``.
    package static func validTime(milliseconds: Int64?, seconds: Int64?) -> Int64? {
        if let milliseconds { return timeRange.contains(milliseconds) ? milliseconds : nil }
        let (time, overflow) = (seconds ?? 0).multipliedReportingOverflow(by: 1000)
        return !overflow && timeRange.contains(time) ? time : nil
    }

}

extension DecodedEvent {
    /// Decodes an event's JSON: nil when it is not JSON or lacks `item_id` or `type`.
    /// `fallbackID` is only evaluated for an event without an `event_id`.
    package static func decode(json payload: [UInt8], fallbackID: @autoclosure () -> String) -> DecodedEvent? {
        var labels = LabelCache()
        return decode(json: payload, fallbackID: fallbackID(), labels: &labels)
    }

    /// ``decode(json:fallbackID:)``, label objects read before taken from `labels`.
    package static func decode(
        json payload: [UInt8], fallbackID: @autoclosure () -> String, labels: inout LabelCache
    ) -> DecodedEvent? {
        payload.withUnsafeBufferPointer { decode(json: $0, fallbackID: fallbackID(), labels: &labels) }
    }

    /// ``decode(json:fallbackID:labels:)`` of bytes where they lie (a consumer's buffer).
    package static func decode(
        json payload: UnsafeBufferPointer<UInt8>, fallbackID: @autoclosure () -> String, labels: inout LabelCache
    ) -> DecodedEvent? {
        do {
            return try EventJSONReader.decode(payload, fallbackID: fallbackID(), labels: &labels)
        } catch {
            return error.final ? nil : DecodedEvent(foundationJSON: Array(payload), fallbackID: fallbackID())
        }
    }

    /// ``decode(json:fallbackID:labels:)`` built in `slot` (uninitialized memory), which it always
    /// initializes: with the event, or ``notAnEvent``. Returns whether it was an event.
    package static func decode(
        json payload: UnsafeBufferPointer<UInt8>, fallbackID: @autoclosure () -> String, labels: inout LabelCache,
        initializing slot: UnsafeMutablePointer<DecodedEvent>
    ) -> Bool {
        do {
            if try EventJSONReader.decode(payload, fallbackID: fallbackID(), labels: &labels, initializing: slot) {
                return true
            }
            slot.initialize(to: .notAnEvent)
            return false
        } catch {
            let event = error.final ? nil : DecodedEvent(foundationJSON: Array(payload), fallbackID: fallbackID())
            slot.initialize(to: event ?? .notAnEvent)
            return event != nil
        }
    }

    /// The reference decoding (``init(reference:fallbackID:)``), nil when the record is not an event.
    package init?(foundationJSON payload: [UInt8], fallbackID: String) {
        guard let event = try? DecodedEvent(reference: payload, fallbackID: fallbackID) else { return nil }
        self = event
    }
}
