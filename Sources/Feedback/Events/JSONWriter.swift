import FastCollections

/// Appends JSON to a reusable byte buffer, allocation-free once the buffer has grown.
///
/// Hand-written rather than `JSONEncoder` because events are encoded on the hot path (a few hundred
/// nanoseconds each) and because the output must match the seed's Go `encoding/json` byte for byte:
/// its key order, its HTML-safe escaping of `<`, `>`, `&`, U+2028, U+2029, and its number formatting.
///
/// Its storage is a raw, growable buffer rather than `[UInt8]`: an encoder appends dozens of small runs per
/// event, and Array's per-append uniqueness and capacity checks were a fifth of the sender's time. One
/// writer belongs to one thread (the collector's sender, or one encode call); it is never shared.
package final class JSONWriter {
    private var base: UnsafeMutablePointer<UInt8>
    private var capacity: Int
    private(set) var count = 0

    package init(capacity: Int = 1024) {
        self.capacity = max(64, capacity)
        base = .allocate(capacity: self.capacity)
    }

    deinit { base.deallocate() }

    /// A copy of what was written.
    package var bytes: [UInt8] { Array(UnsafeBufferPointer(start: base, count: count)) }

    /// What was written, valid until the next write.
    package func withBytes<T>(_ body: (UnsafeRawBufferPointer) throws -> T) rethrows -> T {
        try body(UnsafeRawBufferPointer(start: base, count: count))
    }

    package func reset() { count = 0 }

    /// Forgets what was written after the first `count` bytes.
    func truncate(to count: Int) { self.count = min(self.count, count) }

    @inline(__always) private func reserve(_ extra: Int) {
        if count + extra > capacity { grow(count + extra) }
    }

    private func grow(_ needed: Int) {
        var newCapacity = capacity * 2
        while newCapacity < needed { newCapacity *= 2 }
        let newBase = UnsafeMutablePointer<UInt8>.allocate(capacity: newCapacity)
        newBase.update(from: base, count: count)
        base.deallocate()
        base = newBase
        capacity = newCapacity
    }

    /// Appends `run` as it is (JSON already). Runs of 4 to 16 bytes — keys, most ids — are copied with two
    /// overlapping loads and stores, not a `memmove` call (a call per key was a sixth of writing a sample).
    @inline(__always) package func append(_ run: UnsafeBufferPointer<UInt8>) {
        guard let source = run.baseAddress.map(UnsafeRawPointer.init), run.count > 0 else { return }
        let length = run.count
        reserve(length)
        let target = UnsafeMutableRawPointer(base + count)
        if length >= 8, length <= 16 {
            let (head, tail) = (
                source.loadUnaligned(as: UInt64.self), source.loadUnaligned(fromByteOffset: length - 8, as: UInt64.self)
            )
            target.storeBytes(of: head, as: UInt64.self)
            target.storeBytes(of: tail, toByteOffset: length - 8, as: UInt64.self)
        } else if length >= 4, length < 8 {
            let (head, tail) = (
                source.loadUnaligned(as: UInt32.self), source.loadUnaligned(fromByteOffset: length - 4, as: UInt32.self)
            )
            target.storeBytes(of: head, as: UInt32.self)
            target.storeBytes(of: tail, toByteOffset: length - 4, as: UInt32.self)
        } else {
            target.copyMemory(from: source, byteCount: length)
        }
        count += length
    }

    @inline(__always) package func raw(_ text: StaticString) {
        text.withUTF8Buffer { append($0) }
    }

    @inline(__always) package func byte(_ value: UInt8) {
        reserve(1)
        base[count] = value
        count += 1
    }

    /// Reserves `length` bytes and lets `fill` write them (index 0 ..< length); allocation-free.
    package func fill(_ length: Int, _ fill: (UnsafeMutablePointer<UInt8>) -> Void) {
        reserve(length)
        fill(base + count)
        count += length
    }

    /// Bytes below 64 that need more than a copy: control characters, `"`, and Go's HTML-safe `&`, `<`, `>`.
    private static let specialBelow64: UInt64 =
        0xFFFF_FFFF | (1 << 0x22) | (1 << 0x26) | (1 << 0x3C) | (1 << 0x3E)

    /// Whether `byte` needs more than a copy: the above, `\\`, and 0xE2 (the lead byte of U+2028/U+2029,
    /// checked further when met).
    @inline(__always) private static func isSpecial(_ byte: UInt8) -> Bool {
        byte < 64 ? (specialBelow64 >> UInt64(byte)) & 1 != 0 : (byte == 0x5C || byte == 0xE2)
    }

    package func string(_ value: String) {
        if value.utf8.withContiguousStorageIfAvailable({ quoted($0) }) == nil {
            var copy = value
            copy.withUTF8 { quoted($0) }
        }
    }

    /// `utf8` in quotes, escaped. Checks and copies 8 bytes at a time with plain loads and stores — no
    /// `memmove` call for the short ids most strings are — the last partial word padded with a plain byte
    /// and stored whole into room reserved past the end; the first word that may need escaping hands the
    /// rest to the byte-wise `escaped(_:)`.
    @inline(__always) private func quoted(_ utf8: UnsafeBufferPointer<UInt8>) {
        let length = utf8.count
        reserve(length + 2 + 8)
        let out = UnsafeMutableRawPointer(base + count)
        out.storeBytes(of: UInt8(ascii: "\""), as: UInt8.self)
        guard let source = utf8.baseAddress.map(UnsafeRawPointer.init) else {
            (out + 1).storeBytes(of: UInt8(ascii: "\""), as: UInt8.self)
            count += 2
            return
        }
        var index = 0
        while index + 8 <= length {
            let word = source.loadUnaligned(fromByteOffset: index, as: UInt64.self)
            guard !Self.mayNeedEscaping(word) else { return escapedRest(utf8, from: index) }
            out.storeBytes(of: word, toByteOffset: 1 + index, as: UInt64.self)
            index += 8
        }
        if index < length, length >= 8 {
            // The last 8 bytes, overlapping what is already copied.
            let word = source.loadUnaligned(fromByteOffset: length - 8, as: UInt64.self)
            guard !Self.mayNeedEscaping(word) else { return escapedRest(utf8, from: index) }
            out.storeBytes(of: word, toByteOffset: 1 + length - 8, as: UInt64.self)
        } else if index < length {
            // Shorter than a word: its bytes in the low end (byte k of the word is the k-th byte in memory,
            // little-endian), the rest padded with "a".
            var word: UInt64 = 0x6161_6161_6161_6161
            var offset = length
            while offset > 0 {
                offset -= 1
                word = word &<< 8 | UInt64(source.load(fromByteOffset: offset, as: UInt8.self))
            }
            guard !Self.mayNeedEscaping(word) else { return escapedRest(utf8, from: 0) }
            out.storeBytes(of: word.littleEndian, toByteOffset: 1, as: UInt64.self)
        }
        (out + 1 + length).storeBytes(of: UInt8(ascii: "\""), as: UInt8.self)
        count += length + 2
    }

    /// The slow end of `quoted(_:)`: the opening quote and `utf8[..<index]` (plain) are already stored.
    private func escapedRest(_ utf8: UnsafeBufferPointer<UInt8>, from index: Int) {
        count += 1 + index
        escaped(UnsafeBufferPointer(rebasing: utf8[index...]))
        byte(UInt8(ascii: "\""))
    }

    /// Whether any of the 8 bytes in `word` may need escaping: below 0x20, `"`, `&`, `<`, `>`, `\\`, or
    /// non-ASCII (which covers U+2028/U+2029); a yes sends those 8 bytes through the byte-wise check.
    @inline(__always) private static func mayNeedEscaping(_ word: UInt64) -> Bool {
        ByteWord.hasBelow(word, 0x20) || ByteWord.hasNonASCII(word) || ByteWord.has(word, 0x22)
            || ByteWord.has(word, 0x26) || ByteWord.has(word, 0x3C) || ByteWord.has(word, 0x3E)
            || ByteWord.has(word, 0x5C)
    }

    private func escaped(_ utf8: UnsafeBufferPointer<UInt8>) {
        var runStart = 0
        var index = 0
        let count = utf8.count
        // Most strings are plain ASCII ids: skip them 8 bytes at a time.
        if let base = utf8.baseAddress {
            let raw = UnsafeRawPointer(base)
            while index + 8 <= count, !Self.mayNeedEscaping(raw.loadUnaligned(fromByteOffset: index, as: UInt64.self)) {
                index += 8
            }
        }
        while index < count {
            let byte = utf8[index]
            guard Self.isSpecial(byte) else {
                index += 1
                continue
            }
            var escape: StaticString
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
            case 0xE2:
                guard index + 2 < count, utf8[index + 1] == 0x80, utf8[index + 2] == 0xA8 || utf8[index + 2] == 0xA9
                else {
                    index += 1
                    continue
                }
                escape = utf8[index + 2] == 0xA8 ? "\\u2028" : "\\u2029"
                skip = 3
            default:
                append(UnsafeBufferPointer(rebasing: utf8[runStart..<index]))
                controlEscape(byte)
                index += 1
                runStart = index
                continue
            }
            append(UnsafeBufferPointer(rebasing: utf8[runStart..<index]))
            raw(escape)
            index += skip
            runStart = index
        }
        append(UnsafeBufferPointer(rebasing: utf8[runStart..<count]))
    }

    private func controlEscape(_ value: UInt8) {
        let hex: StaticString = "0123456789abcdef"
        raw("\\u00")
        hex.withUTF8Buffer {
            byte($0[Int(value >> 4)])
            byte($0[Int(value & 0xF)])
        }
    }

    package func int(_ value: Int64) {
        if value >= 0 && value < 10 {
            byte(UInt8(ascii: "0") + UInt8(value))
            return
        }
        var magnitude = value.magnitude
        let digits = Self.decimalDigits(magnitude)
        reserve(digits + 1)
        if value < 0 {
            base[count] = UInt8(ascii: "-")
            count += 1
        }
        // Two digits per division, right to left, straight into the buffer.
        var position = count + digits
        Self.digitPairs.withUTF8Buffer { pairs in
            while magnitude >= 10 {
                let pair = Int(truncatingIfNeeded: magnitude % 100) &* 2
                magnitude /= 100
                position -= 2
                base[position] = pairs[pair]
                base[position + 1] = pairs[pair + 1]
                if magnitude == 0 { return }
            }
            position -= 1
            base[position] = UInt8(ascii: "0") &+ UInt8(truncatingIfNeeded: magnitude)
        }
        count += digits
    }

    /// "00" "01" ... "99": the two digits of every value below 100.
    private static let digitPairs: StaticString =
        "00010203040506070809101112131415161718192021222324252627282930313233343536373839404142434445464748495051525354555657585960616263646566676869707172737475767778798081828384858687888990919293949596979899"

    /// Decimal digits of `value` (1 for 0): log10 estimated from the bit length, corrected by one comparison.
    @inline(__always) static func decimalDigits(_ value: UInt64) -> Int {
        let bits = 64 - value.leadingZeroBitCount
        let estimate = (bits &* 1233) >> 12  // ⌊bits · log10(2)⌋, within one of the true count - 1
        return value >= powerOfTen(estimate) ? estimate + 1 : max(estimate, 1)
    }

    @inline(__always) private static func powerOfTen(_ exponent: Int) -> UInt64 {
        switch exponent {
        case 0: 1
        case 1: 10
        case 2: 100
        case 3: 1000
        case 4: 10000
        case 5: 100000
        case 6: 1000000
        case 7: 10000000
        case 8: 100000000
        case 9: 1000000000
        case 10: 10000000000
        case 11: 100000000000
        case 12: 1000000000000
        case 13: 10000000000000
        case 14: 100000000000000
        case 15: 1000000000000000
        case 16: 10000000000000000
        case 17: 100000000000000000
        case 18: 1000000000000000000
        default: 10_000_000_000_000_000_000
        }
    }

    /// Go's `encoding/json` float format: shortest round-trip digits, integers without ".0", exponent
    /// form below 1e-6 and from 1e21 with a two-digit minimum exponent dropped ("1e-07" -> "1e-7").
    /// Non-finite values have no JSON form: they are written as `null` (Go would fail the whole event).
    package func double(_ value: Double) {
        guard value.isFinite else {
            raw("null")
            return
        }
        let magnitude = value.magnitude
        if value == value.rounded(), magnitude < 1e15 {
            int(Int64(value))
            return
        }
        if magnitude >= 1e-6, magnitude < 1e9, fixedPoint(value) {
            return
        }
        if magnitude >= 1e-6, magnitude < 1e21 {
            var text = value.description
            if text.utf8.contains(UInt8(ascii: "e")) {
                // Swift switches to exponent form earlier than Go; Go prints plain decimals in this range.
                text = Self.plainDecimal(value)
            }
            ascii(text)
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
        ascii(text)
    }

    /// Writes `value` directly when it is exactly a whole number of millionths (`Double(n) / 1e6`, as
    /// scores, prices and rates usually are), which needs no shortest-digits search: below 1e9 two decimals
    /// with at most six fractional digits are 1e-6 apart, more than the value's rounding interval, so the
    /// trimmed digits of n/1e6 are the only shortest round-trip form (the one `description` finds). Returns
    /// false, writing nothing, for any other value. Tested against the general path.
    @inline(__always) func fixedPoint(_ value: Double) -> Bool {
        let scaled = (value * 1_000_000).rounded()
        guard scaled / 1_000_000 == value else { return false }
        var millionths = Int64(scaled).magnitude
        var integerPart = millionths / 1_000_000
        millionths %= 1_000_000
        var fractionDigits = 6
        while millionths % 10 == 0, fractionDigits > 0 {
            millionths /= 10
            fractionDigits -= 1
        }
        // "-" + up to 9 integer digits + "." + up to 6 fraction digits.
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 17) { buffer in
            var position = 17
            for _ in 0..<fractionDigits {
                position -= 1
                buffer[position] = UInt8(ascii: "0") &+ UInt8(truncatingIfNeeded: millionths % 10)
                millionths /= 10
            }
            if fractionDigits > 0 {
                position -= 1
                buffer[position] = UInt8(ascii: ".")
            }
            repeat {
                position -= 1
                buffer[position] = UInt8(ascii: "0") &+ UInt8(truncatingIfNeeded: integerPart % 10)
                integerPart /= 10
            } while integerPart > 0
            if value < 0 {
                position -= 1
                buffer[position] = UInt8(ascii: "-")
            }
            append(UnsafeBufferPointer(rebasing: buffer[position..<17]))
        }
        return true
    }

    private func ascii(_ text: String) {
        var text = text
        text.withUTF8 { append($0) }
    }

    /// The shortest round-trip digits of `value`, written without an exponent.
    package static func plainDecimal(_ value: Double) -> String {
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
