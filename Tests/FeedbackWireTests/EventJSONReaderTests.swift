import FastCollections
import Feedback
import Foundation
import Pipeline
import Testing

@testable import FeedbackWire

/// The processor's fast JSON reader must decode exactly what `JSONSerialization` decodes, or leave the
/// event to it.
@Suite struct EventJSONReaderTests {
    /// Equal, except that numbers may differ in the last bit: Foundation's number parsing is not correctly
    /// rounded (it reads 14.571428571428571 as 14.571428571428573); the reader's is (see the round-trip test).
    func same(_ a: DecodedEvent?, _ b: DecodedEvent?) -> Bool {
        guard var a, var b else { return a == nil && b == nil }
        func close(_ x: Double, _ y: Double) -> Bool { x == y || x.nextUp == y || x.nextDown == y }
        guard close(a.score, b.score), close(a.amount ?? 0, b.amount ?? 0), (a.amount == nil) == (b.amount == nil)
        else { return false }
        (a.score, b.score, a.amount, b.amount) = (0, 0, a.amount.map { _ in 0 }, b.amount.map { _ in 0 })
        return a == b
    }

    @discardableResult
    func check(_ json: String, fast expectFast: Bool = true, sourceLocation: SourceLocation = #_sourceLocation)
        -> DecodedEvent?
    {
        let bytes = Array(json.utf8)
        let reference = DecodedEvent(foundationJSON: bytes, fallbackID: "0-1")
        var decoded: DecodedEvent?
        do {
            decoded = try EventJSONReader.decode(bytes, fallbackID: "0-1")
            #expect(same(decoded, reference), "\(json)", sourceLocation: sourceLocation)
            #expect(expectFast, "expected a fallback for \(json)", sourceLocation: sourceLocation)
        } catch {
            #expect(!expectFast, "unexpected fallback for \(json)", sourceLocation: sourceLocation)
        }
        #expect(same(DecodedEvent.decode(json: bytes, fallbackID: "0-1"), reference), sourceLocation: sourceLocation)
        return decoded
    }

    /// The hashes decoding computes for the processor's and the folder's threads are those of the event's
    /// strings: by request id + item, else by user (else device) + item, and the profile key's; the same on
    /// both decoding paths (`check`).
    @Test func decodedEventsCarryTheHashesOfTheirIds() throws {
        let events = [
            #"{"event_id":"e1","request_id":"r1","user_id":"u1","device_id":"d1","item_id":"i1","type":"click","timestamp_ms":5}"#,
            #"{"event_id":"e2","user_id":"u1","device_id":"d1","item_id":"i1","type":"click","timestamp_ms":5}"#,
            #"{"event_id":"e3","device_id":"d1","item_id":"i1","type":"impression","timestamp_ms":5}"#,
            #"{"item_id":"i1","type":"impression","timestamp":5}"#,
            // Escaped and non-ASCII ids: hashed from their Strings, not from the bytes as they are.
            #"{"event_id":"e\u0031","request_id":"r\"1","user_id":"u1","item_id":"i1","type":"click","timestamp_ms":5}"#,
            #"{"event_id":"é1","user_id":null,"device_id":"d中","item_id":"i\n1","type":"click","timestamp_ms":5}"#,
            #"{"event_id":"e-long-id-of-more-than-sixteen-bytes","request_id":"","user_id":"","device_id":"d1","item_id":"an-item-with-a-long-identifier","type":"click","timestamp_ms":5}"#,
        ]
        let pairs = [
            ("r1", "i1"), ("u1", "i1"), ("d1", "i1"), ("", "i1"), ("r\"1", "i1"), ("d中", "i\n1"),
            ("d1", "an-item-with-a-long-identifier"),
        ]
        for (json, pair) in zip(events, pairs) {
            let event = try #require(check(json))
            #expect(event.idHash == EventIDHash.of(event.eventID), "\(json)")
            #expect(event.pairHash == PairHash.of(pair.0, pair.1), "\(json)")
            #expect(event.profileHash == PairHash.of(event.profileKey, ""), "\(json)")
        }
    }

    @Test func collectorEventsDecodeOnTheFastPathExactly() {
        let extras: [[String: AttributeValue]] = [
            [:], ["amount": .double(99.5), "order_id": .string("o1")],
            ["amount": .int(12), "category": .string("books")],
            ["nested": .object(["a": .array([.int(1), .string("x"), .bool(true), .null])]), "amount": .double(1e-7)],
        ]
        let types: [FeedbackEventType] = [.impression, .click, .conversion, .skip, .custom("share")]
        for index in 0..<200 {
            let event = FeedbackEvent(
                type: types[index % types.count], itemID: "item_\(index)",
                userID: index % 7 == 0 ? "" : "user_\(index % 13)", deviceID: "device \"\(index)\" <é中😀>",
                scene: index % 2 == 0 ? "feed" : "detail\n\t\u{2028}",
                requestID: index % 5 == 0 ? "" : "req_\(index / 3)",
                eventID: index % 11 == 0 ? nil : "evt_\(index)", timestampMs: 1_704_067_200_000 + Int64(index) * 997,
                position: index % 10, score: Double(index) / 7,
                labels: index % 3 == 0 ? [:] : ["recall_source": "hot|ann", "recall_type": "x\\y/z"],
                extras: extras[index % extras.count])
            let decoded = check(String(decoding: event.jsonBytes(), as: UTF8.self))
            #expect(decoded?.score == event.score)  // the collector's shortest digits read back exactly
        }
    }

    /// Keys in the collector's order are recognised where expected; any other order, unknown keys between
    /// them, keys missing or spaces read the same as JSONSerialization does, and a repeated key falls back.
    @Test func keysInAnyOrderReadTheSame() throws {
        let event = FeedbackEvent(
            type: .click, itemID: "item_1", userID: "user_1", deviceID: "device_1", scene: "feed", requestID: "req_1",
            eventID: "evt_1", timestampMs: 1_704_067_200_123, position: 3, score: 0.25,
            labels: ["recall_source": "hot"], extras: ["amount": .double(2.5)])
        let object = try #require(
            try JSONSerialization.jsonObject(with: Data(event.jsonBytes())) as? [String: Any])
        let keys = object.keys.sorted()
        func json(_ keys: [String], extra: (String, String)? = nil) -> String {
            var members = keys.map { key in
                let value = String(
                    decoding: try! JSONSerialization.data(withJSONObject: [object[key]!], options: [.fragmentsAllowed]),
                    as: UTF8.self
                ).dropFirst().dropLast()
                return "\"\(key)\":\(value)"
            }
            if let (key, value) = extra { members.insert("\"\(key)\":\(value)", at: members.count / 2) }
            return "{" + members.joined(separator: ",") + "}"
        }
        check(String(decoding: event.jsonBytes(), as: UTF8.self))  // the usual order
        check(json(keys))
        check(json(keys.reversed()))
        check(json(keys.filter { $0 != "scene" && $0 != "labels" }, extra: ("zzz", "[1,{\"a\":\"b\"}]")))
        check(json(keys).replacingOccurrences(of: ",", with: " , "))
        let usual = String(decoding: event.jsonBytes(), as: UTF8.self)
        check(usual.replacingOccurrences(of: "{\"user_id\"", with: "{\"user_id\":\"twice\",\"user_id\""), fast: false)
    }

    /// Times outside years 1 to 9999 — or seconds that overflow as milliseconds — make an event invalid on
    /// both paths (they overflowed the processor's window arithmetic); the ends of the range are valid.
    @Test func timesOutsideYears1To9999AreInvalid() {
        let invalid =
            ["9223372036854775807", "-9223372036854775808", "253402300800000", "-62135596800001"].map {
                #"{"item_id":"i","type":"click","timestamp_ms":\#($0)}"#
            } + [
                #"{"item_id":"i","type":"click","timestamp":9223372036854775}"#,  // × 1000 overflows
                #"{"item_id":"i","type":"click","timestamp":253402300800}"#,
            ]
        for json in invalid {
            // Either path (the fast one leaves some of these numbers to JSONSerialization): invalid.
            #expect(DecodedEvent.decode(json: Array(json.utf8), fallbackID: "0-1") == nil, "\(json)")
            #expect(DecodedEvent(foundationJSON: Array(json.utf8), fallbackID: "0-1") == nil, "\(json)")
        }
        #expect(
            check(#"{"item_id":"i","type":"click","timestamp_ms":253402300799999}"#)?.timestampMs == 253_402_300_799_999
        )
        #expect(
            check(#"{"item_id":"i","type":"click","timestamp_ms":-62135596800000}"#)?.timestampMs == -62_135_596_800_000
        )
        #expect(check(#"{"item_id":"i","type":"click","timestamp":-62135596800}"#)?.timestampMs == -62_135_596_800_000)
    }

    @Test func unusualButValidJSON() {
        // The seed's layout (no event_id, no timestamp_ms), whitespace, escapes, nulls, exponents.
        check(
            #"{"user_id":"u","item_id":"i","scene":"feed","type":"click","timestamp":1704067200,"position":3,"score":0.5,"labels":{},"extras":{}}"#
        )
        check(
            " {\n \"item_id\" : \"i\\u00e9\\ud83d\\ude00\\/\" , \"type\":\"click\", \"score\": -1.5e3 ,\"user_id\":null } "
        )
        check(#"{"item_id":"i","type":"conversion","extras":{"amount":-0,"category":null,"x":[[],{}]}}"#)
        check(#"{"item_id":"i","type":"impression","position":0,"timestamp_ms":-1000,"labels":{"a":""}}"#)
        check(#"{"type":"click"}"#)  // no item id: invalid for the processor on both paths
        check(#"{"item_id":"i","type":"click","unknown":{"deep":[1,2,{"k":"v"}]},"flag":true,"none":null}"#)
    }

    @Test func whatTheReaderLeavesToJSONSerialization() {
        check(#"{"item_id":"i","type":"click","labels":{"a":1}}"#, fast: false)  // a non-string label
        check(#"{"item_id":"i","type":"click","item_id":"j"}"#, fast: false)  // a repeated key
        check(#"{"item_id":"i","type":"click","timestamp_ms":1.5}"#, fast: false)  // a fractional time
        check(#"{"item_id":"i","type":"click","extras":{"amount":true}}"#, fast: false)  // a Boolean amount
        check(#"{"item_id":"i","type":"click","position":1e2}"#, fast: false)
        check(#"{"item\u005fid":"i","type":"click"}"#, fast: false)  // an escaped key
        check(#"{"item_id":"i","type":3}"#, fast: false)  // a number where a string belongs
        check(#"{"item_id":"i","type":"click"} trailing"#, fast: false)  // not JSON
        check(#"{"item_id":"i","type":"click","score":01}"#, fast: false)  // not JSON
        check("[1,2]", fast: false)
        check("", fast: false)
    }
    /// Decimals up to 15 digits take the short path; it must read every one exactly as parsing the text does.
    @Test func shortDecimalsReadExactly() throws {
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<20_000 {
            // An integer part without leading zeros, then 1 to 15 digits in all after the point.
            let whole = String(UInt64.random(in: 0..<100_000, using: &generator))
            let fractionDigits = Int.random(in: 1...(15 - whole.count), using: &generator)
            var fraction = String(UInt64.random(in: 0..<UInt64(pow(10.0, Double(fractionDigits))), using: &generator))
            fraction = String(repeating: "0", count: fractionDigits - fraction.count) + fraction
            var text = whole + "." + fraction
            if Bool.random(using: &generator) { text = "-" + text }
            let json = #"{"item_id":"i","type":"click","score":\#(text)}"#
            let decoded = try #require(try EventJSONReader.decode(Array(json.utf8), fallbackID: "0-1"))
            #expect(decoded.score.bitPattern == Double(text)!.bitPattern, "\(text)")
        }
    }

    /// Label objects read through a cache (byte-equal ones taken from it) decode exactly as without it: equal
    /// prefixes, braces and escaped quotes inside strings, more distinct sets than the cache holds; and a label
    /// that is not a string (nested objects, numbers) makes the record invalid either way.
    @Test func labelsReadThroughTheCacheAreTheLabelsOfTheirBytes() {
        var objects = [
            #"{"recall_source":"hot","recall_type":"hot"}"#, #"{"recall_source":"hot","recall_type":"ann"}"#,
            #"{"recall_source":"h}ot","recall_type":"hot"}"#, #"{"recall_source":"h\"}ot"}"#,
            #"{"a":"{"}"#, #"{}"#, #"{ "a" : "b" }"#, #"{"a":{"b":"c"}}"#, #"{"a":["}"]}"#, #"{"a":1}"#,
            // The same past the first 8 bytes (read a word at a time).
            #"{"recall_source":"a long value with } and { inside","recall_type":"hot"}"#,
            #"{"recall_source":"an escaped \" quote, then } later","recall_type":"hot"}"#,
            #"{"a_long_label_name":{"nested":"object"}}"#, #"{"a_long_label_name":["an array"]}"#,
            #"{"a_long_label_name_with_escape\u0041":"x"}"#,
        ]
        objects += (0..<100).map { #"{"recall_source":"s\#($0)"}"# }
        let payloads = (objects + objects.reversed() + objects).map {
            Array(#"{"item_id":"i","type":"click","labels":\#($0),"scene":"feed"}"#.utf8)
        }
        var cache = LabelCache()
        for payload in payloads {
            let cached = DecodedEvent.decode(json: payload, fallbackID: "0-1", labels: &cache)
            let alone = DecodedEvent.decode(json: payload, fallbackID: "0-1")
            #expect(cached == alone, "\(String(decoding: payload, as: UTF8.self))")
            // A label that is not a string makes the record invalid (it used to drop every label silently).
            let wrongType = [
                "{\"a\":{", "{\"a\":[", "{\"a\":1", "{\"a_long_label_name\":{", "{\"a_long_label_name\":[",
            ]
            .contains { String(decoding: payload, as: UTF8.self).contains("\"labels\":" + $0) }
            #expect((alone != nil) == !wrongType, "\(String(decoding: payload, as: UTF8.self))")
            if wrongType {
                guard case .wrongType(let field, "a string") = EventReader.reason(payload) else {
                    Issue.record("\(EventReader.reason(payload))")
                    continue
                }
                #expect(field.hasPrefix("labels.a"))
            }
            #expect(alone == DecodedEvent(foundationJSON: payload, fallbackID: "0-1"))
        }
    }
}
