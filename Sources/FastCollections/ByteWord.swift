/// Tests on 8 bytes at once (a little-endian `UInt64` loaded from a byte buffer): the JSON writer's and
/// reader's fast paths over plain ASCII. From "Bit Twiddling Hacks" (haszero, hasless): exact as a yes/no
/// answer for the whole word. The masks (`matching`, `below`, `nonASCII`) flag matching bytes by their high
/// bit; a byte above the first match may be flagged wrongly (a borrow), the first one never is: so
/// `firstFlagged` is the position of the first match.
///
/// ```swift
/// let word = raw.loadUnaligned(fromByteOffset: index, as: UInt64.self)
/// if !ByteWord.has(word, UInt8(ascii: "\"")) && !ByteWord.hasNonASCII(word) { index += 8 }
/// let stops = ByteWord.matching(word, UInt8(ascii: "\"")) | ByteWord.nonASCII(word)
/// if stops != 0 { index += ByteWord.firstFlagged(stops) }  // the first quote or non-ASCII byte
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

    /// The bytes of `word` that are `byte`, flagged (see the type's comment).
    @inlinable @inline(__always) public static func matching(_ word: UInt64, _ byte: UInt8) -> UInt64 {
        let x = word ^ (0x0101_0101_0101_0101 &* UInt64(byte))
        return (x &- 0x0101_0101_0101_0101) & ~x & 0x8080_8080_8080_8080
    }

    /// The bytes of `word` below `limit` (at most 128), flagged.
    @inlinable @inline(__always) public static func below(_ word: UInt64, _ limit: UInt8) -> UInt64 {
        (word &- 0x0101_0101_0101_0101 &* UInt64(limit)) & ~word & 0x8080_8080_8080_8080
    }

    /// The bytes of `word` that are 0x80 or above, flagged.
    @inlinable @inline(__always) public static func nonASCII(_ word: UInt64) -> UInt64 {
        word & 0x8080_8080_8080_8080
    }

    /// The position (0 to 7) of the first byte flagged in a non-zero mask.
    @inlinable @inline(__always) public static func firstFlagged(_ mask: UInt64) -> Int {
        mask.trailingZeroBitCount >> 3
    }
}
