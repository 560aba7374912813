import Feedback
import Foundation
import Testing

@testable import FeedbackWire

/// `EventWireFormat` is the one definition of the event's JSON: the encoder writes exactly its fields in its
/// order, and the public reader gives every one of them back (or says why the bytes are not an event).
@Suite struct EventWireFormatTests {
    func sample() -> FeedbackEvent {
        var event = FeedbackEvent(type: .conversion, itemID: "item_9")
        event.userID = "user_1"
        event.deviceID = "device_1"
        event.scene = "feed"
        event.requestID = "req_1"
        event.eventID = "evt_1"
        event.timestampMs = 1_704_067_200_123
        event.position = 3
        event.score = 0.5
        event.labels = ["recall_source": "hot", "recall_type": "hot"]
        event.extras = ["amount": 99.0, "category": .string("books")]
        return event
    }

    /// The top-level keys of a flat JSON object written by the encoder, in order.
    func keys(_ json: [UInt8]) throws -> [String] {
        var keys: [String] = []
        var depth = 0
        var index = 0
        var inString = false
        var start = 0
        while index < json.count {
            let byte = json[index]
            if inString {
                if byte == UInt8(ascii: "\\") {
                    index += 1
                } else if byte == UInt8(ascii: "\"") {
                    inString = false
                    if depth == 1, json[index + 1] == UInt8(ascii: ":") {
                        keys.append(String(decoding: json[start..<index], as: UTF8.self))
                    }
                }
            } else if byte == UInt8(ascii: "\"") {
                inString = true
                start = index + 1
            } else if byte == UInt8(ascii: "{") {
                depth += 1
            } else if byte == UInt8(ascii: "}") {
                depth -= 1
            }
            index += 1
        }
        return keys
    }

    @Test func theEncoderWritesExactlyTheFieldsInTheirOrder() throws {
        #expect(try keys(sample().jsonBytes()) == EventWireFormat.fields)
    }

    @Test func theReaderGivesBackEveryField() throws {
        let event = try EventReader.decode(sample().jsonBytes())
        #expect(event.userID == "user_1" && event.deviceID == "device_1" && event.itemID == "item_9")
        #expect(event.scene == "feed" && event.type == "conversion" && event.kind == .conversion)
        #expect(event.requestID == "req_1" && event.eventID == "evt_1")
        #expect(event.timestampMs == 1_704_067_200_123 && event.position == 3 && event.score == 0.5)
        #expect(event.labels.dictionary == ["recall_source": "hot", "recall_type": "hot"])
        #expect(event.amount == 99 && event.category == "books")
        #expect(EventWireFormat.timeRange.contains(event.timestampMs))
    }

    @Test func bytesThatAreNotAnEventSayWhy() {
        func reason(_ json: String) -> WireError? {
            do {
                _ = try EventReader.decode(Array(json.utf8))
                return nil
            } catch {
                return error
            }
        }
        #expect(reason("[1, 2") == .notJSON)
        #expect(reason(#"{"type":"click"}"#) == .notAnEvent("no item_id (a string) — every event names its item"))
        #expect(reason(#"{"item_id":"i"}"#) == .notAnEvent("no type (a string) — every event names its type"))
        #expect(reason(#"{"item_id":"i","type":"click","timestamp_ms":253402300800000}"#) == .timeOutOfRange)
        #expect(reason(#"{"item_id":"i","type":"click","timestamp_ms":1}"#) == nil)
    }
}
