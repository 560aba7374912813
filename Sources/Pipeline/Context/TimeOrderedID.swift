#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// UUID version 7 strings: 48 bits of Unix milliseconds then 74 random bits, so ids sort by creation time
/// and are unique without coordination. (Foundation's `UUID` only makes random version 4 ids.)
///
/// ```swift
/// let id = TimeOrderedID.make()   // "019a3f5e-8c41-7d2a-9b1e-3f0c2d4e5a6b"
/// ```
public enum TimeOrderedID {
    /// A new id from the system clock and the system's random generator.
    public static func make() -> String {
        var generator = SystemRandomNumberGenerator()
        return make(milliseconds: currentMilliseconds(), using: &generator)
    }

    /// A new id from the given clock reading and random generator (a fast seeded one on hot paths).
    public static func make(milliseconds: Int64, using generator: inout some RandomNumberGenerator) -> String {
        var bytes = [UInt8](repeating: 0, count: 36)
        write(milliseconds: milliseconds, using: &generator) { index, byte in bytes[index] = byte }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Writes the 36 ASCII bytes of a new id through `put(index, byte)`; allocation-free.
    public static func write(
        milliseconds: Int64, using generator: inout some RandomNumberGenerator, _ put: (Int, UInt8) -> Void
    ) {
        let ms = UInt64(bitPattern: milliseconds) & 0xFFFF_FFFF_FFFF
        let randA = generator.next() as UInt64
        let randB = generator.next() as UInt64
        // 128 bits: ms(48) | ver(4)=7 | rand(12) | var(2)=0b10 | rand(62)
        let high = (ms << 16) | 0x7000 | (randA & 0x0FFF)
        let low = (randB & 0x3FFF_FFFF_FFFF_FFFF) | 0x8000_0000_0000_0000
        let hex: StaticString = "0123456789abcdef"
        var position = 0
        func emit(_ word: UInt64, nibbles: ClosedRange<Int>) {
            for nibble in nibbles.reversed() {
                if position == 8 || position == 13 || position == 18 || position == 23 {
                    put(position, UInt8(ascii: "-"))
                    position += 1
                }
                let value = Int((word >> UInt64(nibble * 4)) & 0xF)
                put(position, hex.withUTF8Buffer { $0[value] })
                position += 1
            }
        }
        emit(high, nibbles: 0...15)
        emit(low, nibbles: 0...15)
    }

    /// Milliseconds since the Unix epoch.
    public static func currentMilliseconds() -> Int64 {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        return Int64(now.tv_sec) * 1000 + Int64(now.tv_nsec) / 1_000_000
    }
}
