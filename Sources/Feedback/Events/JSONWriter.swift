/// Appends JSON to a reusable byte buffer, allocation-free once the buffer has grown.
///
/// Hand-written rather than `JSONEncoder` because events are encoded on the hot path (a few hundred
/// nanoseconds each) and because the output must match the seed's Go `encoding/json` byte for byte:
/// its key order, its HTML-safe escaping of `<`, `>`, `&`, U+2028, U+2029, and its number formatting.
struct JSONWriter {
    var bytes: [UInt8] = []

    init(capacity: Int = 1024) {
        bytes.reserveCapacity(capacity)
    }

    mutating func reset() { bytes.removeAll(keepingCapacity: true) }

    mutating func raw(_ text: StaticString) {
        text.withUTF8Buffer { bytes.append(contentsOf: $0) }
    }

    mutating func byte(_ value: UInt8) { bytes.append(value) }

    mutating func string(_ value: String) {
        bytes.append(UInt8(ascii: "\""))
        var copy = value
        copy.withUTF8 { utf8 in
            var runStart = 0
            var index = 0
            let count = utf8.count
            while index < count {
                let byte = utf8[index]
                var escape: StaticString? = nil
                var skip = 1
                switch byte {
                case UInt8(ascii: "\""): escape = "\\\""
                case UInt8(ascii: "\\"): escape = "\\\\"
                case 0x0A: escape = "\\n"
                case 0x0D: escape = "\\r"
                case 0x09: escape = "\\t"
                case UInt8(ascii: "<"): escape = "\\u003c"
                case UInt8(ascii: ">"): escape = "\\u003e"
                case UInt8(ascii: "&"): escape = "\\u0026"
                case 0xE2
                where index + 2 < count && utf8[index + 1] == 0x80
                    && (utf8[index + 2] == 0xA8 || utf8[index + 2] == 0xA9):
                    escape = utf8[index + 2] == 0xA8 ? "\\u2028" : "\\u2029"
                    skip = 3
                default:
                    if byte < 0x20 {
                        bytes.append(contentsOf: utf8[runStart..<index])
                        controlEscape(byte)
                        index += 1
                        runStart = index
                        continue
                    }
                }
                if let escape {
                    bytes.append(contentsOf: utf8[runStart..<index])
                    raw(escape)
                    index += skip
                    runStart = index
                } else {
                    index += 1
                }
            }
            bytes.append(contentsOf: utf8[runStart..<count])
        }
        bytes.append(UInt8(ascii: "\""))
    }

    private mutating func controlEscape(_ byte: UInt8) {
        let hex: StaticString = "0123456789abcdef"
        raw("\\u00")
        hex.withUTF8Buffer {
            bytes.append($0[Int(byte >> 4)])
            bytes.append($0[Int(byte & 0xF)])
        }
    }

    mutating func int(_ value: Int64) {
        if value == 0 {
            bytes.append(UInt8(ascii: "0"))
            return
        }
        var magnitude = value.magnitude
        if value < 0 { bytes.append(UInt8(ascii: "-")) }
        let start = bytes.count
        while magnitude > 0 {
            bytes.append(UInt8(ascii: "0") + UInt8(magnitude % 10))
            magnitude /= 10
        }
        bytes[start...].reverse()
    }

    /// Go's `encoding/json` float format: shortest round-trip digits, integers without ".0", exponent
    /// form below 1e-6 and from 1e21 with a two-digit minimum exponent dropped ("1e-07" -> "1e-7").
    /// Non-finite values have no JSON form: they are written as `null` (Go would fail the whole event).
    mutating func double(_ value: Double) {
        guard value.isFinite else {
            raw("null")
            return
        }
        let magnitude = value.magnitude
        if value == value.rounded(), magnitude < 1e15 {
            int(Int64(value))
            return
        }
        if magnitude >= 1e-6, magnitude < 1e21 {
            var text = value.description
            if text.utf8.contains(UInt8(ascii: "e")) {
                // Swift switches to exponent form earlier than Go; Go prints plain decimals in this range.
                text = Self.plainDecimal(value)
            }
            bytes.append(contentsOf: text.utf8)
            return
        }
        // Exponent form: mantissa digits as Swift prints them, exponent without leading zeros.
        var text = value.description
        if let e = text.firstIndex(of: "e") {
            let mantissa = text[..<e]
            var exponent = text[text.index(after: e)...]
            var sign = "+"
            if exponent.first == "-" || exponent.first == "+" {
                sign = exponent.first == "-" ? "-" : "+"
                exponent = exponent.dropFirst()
            }
            while exponent.count > 1, exponent.first == "0" { exponent = exponent.dropFirst() }
            var digits = String(mantissa)
            if digits.hasSuffix(".0") { digits.removeLast(2) }
            text = digits + "e" + sign + exponent
        }
        bytes.append(contentsOf: text.utf8)
    }

    /// The shortest round-trip digits of `value`, written without an exponent.
    static func plainDecimal(_ value: Double) -> String {
        let text = value.description  // e.g. "1.5e-05" or "1.2345e+16"
        guard let e = text.firstIndex(of: "e"), let exponent = Int(text[text.index(after: e)...]) else {
            return text
        }
        var mantissa = String(text[..<e])
        let negative = mantissa.hasPrefix("-")
        if negative { mantissa.removeFirst() }
        let parts = mantissa.split(separator: ".", omittingEmptySubsequences: false)
        var digits = String(parts[0]) + (parts.count > 1 ? String(parts[1]) : "")
        while digits.count > 1, digits.hasSuffix("0") { digits.removeLast() }
        let pointAt = parts[0].count + exponent  // position of the decimal point within `digits`
        var result: String
        if pointAt <= 0 {
            result = "0." + String(repeating: "0", count: -pointAt) + digits
        } else if pointAt >= digits.count {
            result = digits + String(repeating: "0", count: pointAt - digits.count)
        } else {
            let index = digits.index(digits.startIndex, offsetBy: pointAt)
            result = digits[..<index] + "." + digits[index...]
        }
        return negative ? "-" + result : result
    }
}
