/// Tests on 8 bytes at once (a little-endian `UInt64` loaded from a byte buffer): the JSON writer's and
/// reader's fast paths over plain ASCII. From "Bit Twiddling Hacks" (haszero, hasless): exact as a yes/no
/// answer for the whole word; which byte matched is left to a byte-wise loop.
///
/// ```swift
/// let word = raw.loadUnaligned(fromByteOffset: index, as: UInt64.self)
/// if !ByteWord.has(word, UInt8(ascii: "\"")) && !ByteWord.hasNonASCII(word) { index += 8 }
/// ```
public enum ByteWord {
    // Public and @inlinable: called per 8 bytes from other modules too (the processor's JSON reader), and
    // Swift 6.0 did not inline `package` ones across modules (a call per word, measured in the binary).

    /// Whether some byte of `word` is `byte`.
    @inlinable @inline(__always) public static func has(_ word: UInt64, _ byte: UInt8) -> Bool {
        let x = word ^ (0x0101_0101_0101_0101 &* UInt64(byte))
        return (x &- 0x0101_0101_0101_0101) & ~x & 0x8080_8080_8080_8080 != 0
    }

    /// Whether some byte of `word` is below `limit` (at most 128).
    @inlinable @inline(__always) public static func hasBelow(_ word: UInt64, _ limit: UInt8) -> Bool {
        (word &- 0x0101_0101_0101_0101 &* UInt64(limit)) & ~word & 0x8080_8080_8080_8080 != 0
    }

    /// Whether some byte of `word` is 0x80 or above.
    @inlinable @inline(__always) public static func hasNonASCII(_ word: UInt64) -> Bool {
        word & 0x8080_8080_8080_8080 != 0
    }
}
