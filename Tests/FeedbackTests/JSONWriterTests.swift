import Foundation
import Pipeline
import Testing

@testable import Feedback

/// The writer's fast paths must write exactly what its general paths write.
@Suite struct JSONWriterTests {
    func written(_ body: (JSONWriter) -> Void) -> String {
        let writer = JSONWriter()
        body(writer)
        return String(decoding: writer.bytes, as: UTF8.self)
    }

    /// Go's format for 1e-6 ≤ |x| < 1e21 through the shortest-digits path (`description`).
    func general(_ value: Double) -> String {
        let text = value.description
        return text.contains("e") ? JSONWriter.plainDecimal(value) : text
    }

    @Test func fixedPointDigitsEqualTheShortestRoundTripDigits() {
        var generator = SystemRandomNumberGenerator()
        var values: [Double] = [0.1, 0.2, 0.1 + 0.2, 0.3, 1.5, 99.99, 0.000001, 0.000015, 123456.789, 999_999_999.5]
        for k in stride(from: -2_000_000, through: 2_000_000, by: 7) where k % 1000 != 0 {
            values.append(Double(k) / 1000)
        }
        for _ in 0..<200_000 {
            values.append(Double(Int64.random(in: -999_999_999_999_999...999_999_999_999_999, using: &generator)) / 1e6)
            values.append(Double.random(in: 1e-6..<1e9, using: &generator))
            values.append(Double(Int.random(in: 1..<100_000, using: &generator)) / 100)
        }
        var fast = 0
        for value in values where value != value.rounded() && value.magnitude >= 1e-6 && value.magnitude < 1e9 {
            let writer = JSONWriter()
            guard writer.fixedPoint(value) else { continue }
            fast += 1
            let text = String(decoding: writer.bytes, as: UTF8.self)
            #expect(text == general(value), "value \(value)")
            if text != general(value) { return }
        }
        #expect(fast > 400_000)  // the fast path really ran
    }

    /// Go's HTML-safe escaping, byte by byte: the reference the word-at-a-time scan must agree with.
    func reference(_ value: String) -> String {
        var out = "\""
        for scalar in value.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case "<": out += "\\u003c"
            case ">": out += "\\u003e"
            case "&": out += "\\u0026"
            case "\u{2028}": out += "\\u2028"
            case "\u{2029}": out += "\\u2029"
            case _ where scalar.value < 0x20: out += String(format: "\\u%04x", scalar.value)
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }

    @Test func integersEqualTheirDescription() {
        var values: [Int64] = [0, 1, 9, 10, 11, 99, 100, 101, Int64.max, Int64.min, Int64.min + 1, -1, -9, -10]
        var power: Int64 = 1
        for _ in 0..<19 {
            values += [power - 1, power, power + 1, -power, -(power - 1)]
            if power <= Int64.max / 10 { power *= 10 }
        }
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<100_000 {
            let bits = Int.random(in: 0...63, using: &generator)
            values.append(
                Int64.random(in: 0...(Int64.max >> (63 - bits)), using: &generator) * (Bool.random() ? 1 : -1))
        }
        for value in values {
            let text = written { $0.int(value) }
            #expect(text == String(value))
            if text != String(value) { return }
        }
    }

    /// Strings of every length around the 8-byte words the fast path reads, with a special character at every
    /// position (and none), through the writer and through the byte-wise reference.
    @Test func everyLengthAndPositionOfASpecialCharacterIsEscaped() {
        for length in 0...33 {
            for special in [nil, "\"", "\\", "\n", "<", "\u{01}", "é", "\u{2028}"] as [String?] {
                for position in 0...max(0, length - 1) {
                    var characters = (0..<length).map { String(UnicodeScalar(UInt8(97 + $0 % 26))) }
                    if let special, position < length { characters[position] = special }
                    let value = characters.joined()
                    #expect(written { $0.string(value) } == reference(value), "\(Array(value.utf8))")
                }
            }
        }
    }

    @Test func objectsAndLabelsOfAnySizeHaveSortedKeys() {
        let keys = ["order_id", "amount", "b", "a", "zeta"]
        for size in 0...keys.count {
            var object: [String: AttributeValue] = [:]
            var labels: [String: String] = [:]
            for key in keys.prefix(size) {
                object[key] = .string(key)
                labels[key] = key
            }
            let members = keys.prefix(size).sorted().map { "\"\($0)\":\"\($0)\"" }.joined(separator: ",")
            #expect(written { $0.object(object) } == "{\(members)}")
            #expect(written { $0.labels(labels) } == "{\(members)}")
        }
    }

    @Test func wordAtATimeEscapingEqualsByteByByte() {
        let alphabet: [Unicode.Scalar] = [
            "a", "Z", "0", "_", ".", " ", "\"", "\\", "<", ">", "&", "\n", "\t", "\u{01}", "\u{1F}", "\u{7F}",
            "é", "中", "\u{2028}", "\u{2029}", "\u{2027}", "😀", "!", "~", "=", "?", "@",
        ]
        var generator = SystemRandomNumberGenerator()
        for round in 0..<50_000 {
            let length = Int.random(in: 0...40, using: &generator)
            var value = ""
            // Mostly plain runs (the fast path), with a special character somewhere in a third of them.
            for _ in 0..<length {
                let plain = round % 3 != 0
                value.unicodeScalars.append(
                    plain
                        ? alphabet[Int.random(in: 0..<4, using: &generator)]
                        : alphabet.randomElement(using: &generator)!)
            }
            let text = written { $0.string(value) }
            #expect(text == reference(value), "input \(Array(value.utf8))")
            if text != reference(value) { return }
        }
    }

    @Test func impressionsWrittenFromItemsEqualTheEventRoute() {
        let context = RecommendContext(userID: "user_<1>", deviceID: "dev \"9\"", scene: "feed")
        var items: [Item] = []
        for index in 0..<50 {
            var item = Item(id: "item_\(index)", score: Double(index) / 3)
            if index % 2 == 0 { item.labels["recall_source"] = Label(value: "hot", source: "recall.hot") }
            if index % 3 == 0 { item.labels["recall_type"] = Label(value: "é&\u{2028}") }
            if index % 5 == 0 { item.labels["z"] = Label(value: "3"); item.labels["a"] = Label(value: "1") }
            items.append(item)
        }
        for (position, item) in items.enumerated() {
            var first = SplitMix64(seed: UInt64(position))
            var second = SplitMix64(seed: UInt64(position))
            let direct = written {
                $0.impression(
                    of: item, at: position, context: context, timestampMs: 1_704_067_200_123, generator: &first)
            }
            let event = FeedbackEvent.impression(
                of: item, at: position, context: context, timestampMs: 1_704_067_200_123)
            let viaEvent = written { $0.event(event, generator: &second) }
            #expect(direct == viaEvent)
        }
    }
}
