/// Tests on 8 bytes at once (a little-endian `UInt64` loaded from a byte buffer): the JSON writer's and
/// reader's fast paths over plain ASCII. From "Bit Twiddling Hacks" (haszero, hasless): exact as a yes/no
/// answer for the whole word; which byte matched is left to a byte-wise loop.
///
/// ```swift
/// let word = raw.loadUnaligned(fromByteOffset: index, as: UInt64.self)
/// if !ByteWord.has(word, UInt8(ascii: "\"")) && !ByteWord.hasNonASCII(word) { index += 8 }
/// ```
package enum ByteWord {
    private static let ones: UInt64 = 0x0101_0101_0101_0101
    private static let highs: UInt64 = 0x8080_8080_8080_8080

    /// Whether some byte of `word` is `byte`.
    @inline(__always) package static func has(_ word: UInt64, _ byte: UInt8) -> Bool {
        let x = word ^ (ones &* UInt64(byte))
        return (x &- ones) & ~x & highs != 0
    }

    /// Whether some byte of `word` is below `limit` (at most 128).
    @inline(__always) package static func hasBelow(_ word: UInt64, _ limit: UInt8) -> Bool {
        (word &- ones &* UInt64(limit)) & ~word & highs != 0
    }

    /// Whether some byte of `word` is 0x80 or above.
    @inline(__always) package static func hasNonASCII(_ word: UInt64) -> Bool { word & highs != 0 }
}
