import Feedback

/// The byte layout of a state segment: little-endian integers, doubles by bit pattern, strings as a
/// LEB128 length and their UTF-8: the processor's stored state (attribution segments, seen ids) and the
/// label sets' compact form. A version byte leads every segment.
/// (Written here rather than with `Codable`: a segment is rewritten every batch, and the coders box every
/// field.)
///
/// Its bytes grow in the collector's `JSONWriter` — a raw buffer, used here for its storage only: appended
/// to `[UInt8]`, each field paid Array's uniqueness and capacity checks and a copy call, more than half of
/// encoding a batch's segments, which the batch's end waits for. A writer is a local value: its copies
/// share one buffer.
package struct SegmentWriter {
    private let buffer: JSONWriter

    /// A segment's bytes so far.
    package var bytes: [UInt8] { buffer.bytes }

    package init(version: UInt8, capacity: Int) {
        buffer = JSONWriter(capacity: capacity)
        buffer.byte(version)
    }

    /// Appends to `bytes`, a segment of `version` (a new one when empty).
    package init(continuing bytes: [UInt8], version: UInt8, capacity: Int) {
        let buffer = JSONWriter(capacity: max(capacity, bytes.count))
        if bytes.isEmpty {
            buffer.byte(version)
        } else {
            bytes.withUnsafeBufferPointer { buffer.append($0) }
        }
        self.buffer = buffer
    }

    package mutating func int(_ value: Int64) {
        buffer.fill(8) { UnsafeMutableRawPointer($0).storeBytes(of: value.littleEndian, as: Int64.self) }
    }

    package mutating func int16(_ value: Int16) {
        buffer.fill(2) { UnsafeMutableRawPointer($0).storeBytes(of: value.littleEndian, as: Int16.self) }
    }

    package mutating func double(_ value: Double) { int(Int64(bitPattern: value.bitPattern)) }

    package mutating func count(_ value: Int) { leb128(UInt64(value)) }

    /// A signed integer in as few bytes as its magnitude needs (zigzag, then LEB128): small deltas take one.
    package mutating func signed(_ value: Int64) { leb128(UInt64(bitPattern: (value << 1) ^ (value >> 63))) }

    private func leb128(_ value: UInt64) {
        var rest = value
        while rest >= 0x80 {
            buffer.byte(UInt8(truncatingIfNeeded: rest) | 0x80)
            rest >>= 7
        }
        buffer.byte(UInt8(rest))
    }

    package mutating func string(_ value: String) {
        // In place when the string is contiguous (native strings are): no copy of it, no retain.
        if value.utf8.withContiguousStorageIfAvailable({ utf8(of: $0) }) == nil {
            var copy = value
            copy.withUTF8 { utf8(of: $0) }
        }
    }

    private func utf8(of string: UnsafeBufferPointer<UInt8>) {
        leb128(UInt64(string.count))
        buffer.append(string)
    }

    package mutating func labels(_ labels: [String: String]) {
        count(labels.count)
        for (key, value) in labels {
            string(key)
            string(value)
        }
    }

    /// The same bytes as `labels(labels.dictionary)`, encoded once per label set.
    package mutating func labels(_ labels: EventLabels) {
        labels.withSegmentBytes { buffer.append($0) }
    }
}

/// Reads what ``SegmentWriter`` wrote; a short or malformed segment is a storage error naming the store.
package struct SegmentReader {
    private let bytes: [UInt8]
    private var position = 0
    private let origin: String

    /// The layout the segment's first byte names.
    package let version: UInt8

    package init(_ bytes: [UInt8], origin: String, version: UInt8) throws(WireError) {
        try self.init(bytes, origin: origin, versions: version...version)
    }

    /// A reader of a segment in any of `versions` (``version`` tells which).
    package init(_ bytes: [UInt8], origin: String, versions: ClosedRange<UInt8>) throws(WireError) {
        self.bytes = bytes
        self.origin = origin
        guard let first = bytes.first, versions.contains(first) else {
            let expected =
                versions.count == 1 ? "\(versions.lowerBound)" : "\(versions.lowerBound) to \(versions.upperBound)"
            throw WireError.damagedState(
                "\(origin): segment layout \(bytes.first.map(String.init) ?? "none"), expected \(expected)")
        }
        version = first
        position = 1
    }

    package var isAtEnd: Bool { position == bytes.count }

    package mutating func int() throws(WireError) -> Int64 {
        guard position + 8 <= bytes.count else { throw truncated() }
        var value: Int64 = 0
        for index in 0..<8 { value |= Int64(bytes[position + index]) << (8 * index) }
        position += 8
        return value
    }

    package mutating func int16() throws(WireError) -> Int16 {
        guard position + 2 <= bytes.count else { throw truncated() }
        defer { position += 2 }
        return Int16(bitPattern: UInt16(bytes[position]) | UInt16(bytes[position + 1]) << 8)
    }

    package mutating func double() throws(WireError) -> Double { Double(bitPattern: UInt64(bitPattern: try int())) }

    /// A length (of what follows, so at most the bytes left).
    package mutating func count() throws(WireError) -> Int {
        let value = try unsigned()
        guard value <= UInt64(bytes.count - position) else { throw truncated() }
        return Int(value)
    }

    /// A number written by `count(_:)` that is not a length.
    package mutating func number() throws(WireError) -> Int {
        let value = try unsigned()
        guard value <= UInt64(Int.max) else { throw truncated() }
        return Int(value)
    }

    package mutating func signed() throws(WireError) -> Int64 {
        let value = try unsigned()
        return Int64(bitPattern: value >> 1) ^ -Int64(bitPattern: value & 1)
    }

    /// LEB128.
    private mutating func unsigned() throws(WireError) -> UInt64 {
        var value: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            guard position < bytes.count, shift < 64 else { throw truncated() }
            let byte = bytes[position]
            position += 1
            value |= UInt64(byte & 0x7f) << shift
            if byte & 0x80 == 0 { return value }
            shift += 7
        }
    }

    package mutating func string() throws(WireError) -> String {
        let length = try count()
        defer { position += length }
        return String(decoding: bytes[position..<position + length], as: UTF8.self)
    }

    package mutating func labels() throws(WireError) -> [String: String] {
        let entries = try count()
        var labels: [String: String] = [:]
        labels.reserveCapacity(entries)
        for _ in 0..<entries {
            let key = try string()
            labels[key] = try string()
        }
        return labels
    }

    private func truncated() -> WireError {
        .damagedState(
            "\(origin): a state segment ends early at byte \(position) of \(bytes.count); the store is damaged")
    }
}
