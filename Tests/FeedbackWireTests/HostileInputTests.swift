import Feedback
import FeedbackWire
import Pipeline
import Testing

/// Records built to hurt: each is refused with a reason that says what is wrong, quickly, without a crash —
/// and the writer refuses to produce them in the first place (the same ``EventWireFormat/Limits``).
@Suite struct HostileInputTests {
    func reason(_ json: String) -> WireError {
        let bytes = Array(json.utf8)
        #expect(DecodedEvent.decode(json: bytes, fallbackID: "0-1") == nil, "accepted: \(json.prefix(200))")
        do {
            let event = try EventReader.decode(bytes)
            Issue.record("accepted: \(event)")
            return .notJSON
        } catch {
            #expect(EventReader.reason(bytes) == error)
            return error
        }
    }

    func event(_ fields: String) -> String {
        #"{"item_id":"i1","type":"click","timestamp_ms":1704067200000,\#(fields)}"#
    }

    @Test func deepNestingIsRefusedWithoutRecursingIntoIt() {
        let deep = String(repeating: "[", count: 1_000_000)
        #expect(
            reason(event(#""extras":{"x":\#(deep)}"#)) == .overLimit("arrays and objects nest deeper than 16 levels"))
        let nested = String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)
        guard case .overLimit(let why) = reason(event(#""extras":{"x":\#(nested)}"#)) else {
            Issue.record("not over a limit")
            return
        }
        #expect(why.contains("nest deeper than 16"))
        #expect(
            reason(String(repeating: "[", count: 500_000))
                == .overLimit("arrays and objects nest deeper than 16 levels"))
        // At the limit is fine: the event (1), extras (2), and 14 levels inside.
        let deepest = String(repeating: "[", count: 14) + String(repeating: "]", count: 14)
        #expect(DecodedEvent.decode(json: Array(event(#""extras":{"x":\#(deepest)}"#).utf8), fallbackID: "") != nil)
    }

    @Test func aValueOfTheWrongTypeMakesTheRecordInvalid() {
        #expect(
            reason(#"{"item_id":"i1","type":"click","timestamp_ms":"soon"}"#)
                == .wrongType(field: "timestamp_ms", expected: "a number"))
        #expect(reason(event(#""position":true"#)) == .wrongType(field: "position", expected: "a number"))
        #expect(reason(event(#""user_id":42"#)) == .wrongType(field: "user_id", expected: "a string"))
        #expect(reason(event(#""scene":["feed"]"#)) == .wrongType(field: "scene", expected: "a string"))
        #expect(reason(event(#""labels":"hot""#)) == .wrongType(field: "labels", expected: "an object"))
        #expect(
            reason(event(#""extras":{"amount":"12.5"}"#)) == .wrongType(field: "extras.amount", expected: "a number"))
        #expect(reason(event(#""score":1e999"#)) == .notJSON)  // Foundation refuses numbers beyond a Double
        #expect(
            reason(#"{"item_id":"i1","type":"","timestamp_ms":5}"#)
                == .notAnEvent("no type (a string) — every event names its type"))
        // null still reads as absent.
        #expect(DecodedEvent.decode(json: Array(event(#""user_id":null,"position":null"#).utf8), fallbackID: "") != nil)
    }

    @Test func idsAmountsAndSizesOverTheLimitsAreRefused() {
        #expect(
            reason(event(#""user_id":"alice\u0000x""#))
                == .overLimit("user_id holds a NUL character (\\u0000): ids are text without NULs"))
        #expect(
            reason(event(#""event_id":"\#(String(repeating: "e", count: 513))""#))
                == .overLimit("event_id is 513 bytes: at most 512"))
        guard case .overLimit = reason(event(#""extras":{"amount":1e308}"#)) else { Issue.record("amount"); return }
        let labels = (0..<65).map { #""l\#($0)":"v""# }.joined(separator: ",")
        #expect(reason(event(#""labels":{\#(labels)}"#)) == .overLimit("65 labels: at most 64"))
        let big = String(repeating: "x", count: 1 << 20)
        #expect(
            reason(event(#""extras":{"note":"\#(big)"}"#)) == .overLimit("the record is 1048657 bytes: at most 1048576")
        )
        // Just within every limit: read on the fast path.
        let within = event(
            #""user_id":"\#(String(repeating: "u", count: 512))","extras":{"amount":1e15},"labels":{\#((0..<64).map { #""l\#($0)":"v""# }.joined(separator: ","))}"#
        )
        #expect((try? EventJSONReader.decode(Array(within.utf8), fallbackID: "")) != nil)
    }

    @Test func theWriterRefusesWhatReadersWouldRefuse() {
        func refused(_ event: FeedbackEvent) -> Bool {
            do { try event.validate() } catch { return true }
            return false
        }
        #expect(refused(FeedbackEvent(type: .click, itemID: "i", userID: "alice\u{0}x")))
        #expect(refused(FeedbackEvent(type: .click, itemID: String(repeating: "i", count: 513))))
        #expect(refused(FeedbackEvent(type: .click, itemID: "i", timestampMs: .max)))
        #expect(refused(FeedbackEvent(type: .conversion, itemID: "i", extras: ["amount": .double(.infinity)])))
        #expect(refused(FeedbackEvent(type: .conversion, itemID: "i", extras: ["amount": .double(1e308)])))
        #expect(
            refused(
                FeedbackEvent(
                    type: .click, itemID: "i",
                    labels: Dictionary(uniqueKeysWithValues: (0..<65).map { ("l\($0)", "v") }))))
        var value = AttributeValue.int(1)
        for _ in 0..<1_000 { value = .array([value]) }
        #expect(refused(FeedbackEvent(type: .click, itemID: "i", extras: ["deep": value])))
        let ok = FeedbackEvent(
            type: .conversion, itemID: "i", userID: "u", timestampMs: 1_704_067_200_000, extras: ["amount": 12.5])
        #expect(!refused(ok))
        #expect(DecodedEvent.decode(json: ok.jsonBytes(), fallbackID: "") != nil)
    }
}
