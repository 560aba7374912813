import Feedback
import Foundation
import Pipeline
import Testing

@Suite struct EventJSONTests {
    static let seedEvent = FeedbackEvent(
        type: .impression, itemID: "item_456", userID: "user_123", deviceID: "dev_9", scene: "feed",
        requestID: "req_1", eventID: "evt_1", timestampMs: 1_704_067_200_123, position: 0, score: 0.85,
        labels: ["recall_type": "hot", "recall_source": "recall.hot"])

    func json(_ event: FeedbackEvent) -> String { String(decoding: event.jsonBytes(), as: UTF8.self) }

    @Test func goldenImpression() {
        #expect(
            json(Self.seedEvent)
                == #"{"user_id":"user_123","item_id":"item_456","scene":"feed","type":"impression","timestamp":1704067200,"position":0,"score":0.85,"labels":{"recall_source":"recall.hot","recall_type":"hot"},"extras":{},"event_id":"evt_1","request_id":"req_1","device_id":"dev_9","timestamp_ms":1704067200123,"schema_version":2}"#
        )
    }

    /// The seed's example, as Go's encoding/json writes it, is a byte prefix of ours: old consumers keep working.
    @Test func theSeedsEncodingIsABytePrefix() {
        let seed =
            #"{"user_id":"user_123","item_id":"item_456","scene":"feed","type":"impression","timestamp":1704067200,"position":0,"score":0.85,"labels":{"recall_source":"recall.hot","recall_type":"hot"},"extras":{}"#
        #expect(json(Self.seedEvent).hasPrefix(seed))
    }

    @Test func goldenConversionWithNestedExtras() {
        let event = FeedbackEvent(
            type: .conversion, itemID: "item_456", userID: "user_123", scene: "feed", requestID: "req_1",
            eventID: "evt_2", timestampMs: 1_704_067_260_000, position: 3,
            extras: [
                "order_id": "order_123", "amount": 99.0, "items": [1, "two", true, nil],
                "meta": ["b": 1, "a": 2.5],
            ])
        #expect(
            json(event)
                == #"{"user_id":"user_123","item_id":"item_456","scene":"feed","type":"conversion","timestamp":1704067260,"position":3,"score":0,"labels":{},"extras":{"amount":99,"items":[1,"two",true,null],"meta":{"a":2.5,"b":1},"order_id":"order_123"},"event_id":"evt_2","request_id":"req_1","device_id":"","timestamp_ms":1704067260000,"schema_version":2}"#
        )
    }

    @Test func stringsAreEscapedAsGoDoes() throws {
        let event = FeedbackEvent(
            type: .custom("share"), itemID: "a\"b\\c\n\r\t\u{01}<>&\u{2028}\u{2029}é😀", eventID: "e", timestampMs: 0)
        let text = json(event)
        #expect(text.contains(#""item_id":"a\"b\\c\n\r\t\u0001\u003c\u003e\u0026\u2028\u2029é😀""#))
        #expect(text.contains(#""type":"share""#))
        let parsed = try #require(JSONSerialization.jsonObject(with: Data(event.jsonBytes())) as? [String: Any])
        #expect(parsed["item_id"] as? String == event.itemID)
    }

    /// Swift strings are always valid UTF-8: bytes decoded from the wire are repaired with U+FFFD on the way
    /// in, so an event can never carry invalid UTF-8 into Kafka.
    @Test func invalidUTF8InputIsRepairedNotPassedOn() throws {
        let userID = String(decoding: [0x75, 0xFF, 0xFE, 0x31] as [UInt8], as: UTF8.self)
        let event = FeedbackEvent(type: .click, itemID: "i", userID: userID, eventID: "e", timestampMs: 0)
        let bytes = event.jsonBytes()
        #expect(String(validating: bytes, as: UTF8.self) != nil)
        let parsed = try #require(JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any])
        #expect(parsed["user_id"] as? String == "u\u{FFFD}\u{FFFD}1")
    }

    @Test(arguments: [
        (0.85, "0.85"), (1.0, "1"), (-0.5, "-0.5"), (0.0, "0"), (1e-7, "1e-7"), (1.5e-5, "0.000015"),
        (2.5e-6, "0.0000025"), (1e20, "100000000000000000000"), (1e21, "1e+21"), (123456.789, "123456.789"),
        (-3.0, "-3"), (Double.nan, "null"), (Double.infinity, "null"), (1.25e-300, "1.25e-300"),
    ])
    func scoresAreFormattedAsGoDoes(value: Double, expected: String) {
        let event = FeedbackEvent(type: .click, itemID: "i", eventID: "e", timestampMs: 0, score: value)
        #expect(json(event).contains(#""score":\#(expected),"#))
    }

    @Test func aMissingEventIDIsReplacedByAFreshVersion7ID() throws {
        var event = Self.seedEvent
        event.eventID = nil
        var ids = Set<String>()
        for _ in 0..<1000 {
            let parsed = try #require(JSONSerialization.jsonObject(with: Data(event.jsonBytes())) as? [String: Any])
            let id = try #require(parsed["event_id"] as? String)
            #expect(id.count == 36 && Array(id)[14] == "7")
            ids.insert(id)
        }
        #expect(ids.count == 1000)
    }

    @Test func typesRoundTripTheirNames() {
        let types: [FeedbackEventType] = [.impression, .click, .conversion, .skip, .like, .dislike, .custom("share")]
        for type in types { #expect(FeedbackEventType(name: type.name) == type) }
    }

    @Test func theKeyIsTheUserThenTheDeviceThenNone() {
        #expect(FeedbackEvent(type: .click, itemID: "i", userID: "u", deviceID: "d").partitionKey == "u")
        #expect(FeedbackEvent(type: .click, itemID: "i", deviceID: "d").partitionKey == "d")
        #expect(FeedbackEvent(type: .click, itemID: "i").partitionKey == nil)
    }

    @Test func invalidEventsSayWhatToFix() {
        #expect(
            throws: FeedbackError.invalidEvent(
                "item id is empty: set itemID to the id of the item the user saw or acted on")
        ) {
            try FeedbackEvent(type: .click, itemID: "").validate()
        }
        #expect(throws: FeedbackError.self) { try FeedbackEvent(type: .custom(""), itemID: "i").validate() }
        #expect(throws: FeedbackError.self) { try FeedbackEvent(type: .click, itemID: "i", position: -1).validate() }
    }

    @Test func preEpochMillisecondsFloorToSeconds() {
        let event = FeedbackEvent(type: .click, itemID: "i", eventID: "e", timestampMs: -1500)
        #expect(json(event).contains(#""timestamp":-2,"#))
    }
}
