/// The hash under which the attribution indexes file a pair of strings (request id + item, user + item):
/// eight bytes at a time, each mixed by a multiply, seeded once per process. Computed once per impression
/// and action (and once per click looked up) rather than on every index access, as `Hashable` keys were —
/// SipHash over both strings each time was a third of closing windows. Never stored.
///
/// ```swift
/// let hash = PairHash.of("req_1", "item_9")  // never 0: `PairIndex` marks empty slots with 0
/// ```
public enum PairHash {
    /// Random per process, so that no input can be crafted to collide in every run.
    @usableFromInline static let seed = UInt64.random(in: 1...UInt64.max)

    @inlinable public static func of(_ first: String, _ second: String) -> UInt64 {
        var (first, second) = (first, second)
        return first.withUTF8 { first in
            second.withUTF8 { second in of(UnsafeRawBufferPointer(first), UnsafeRawBufferPointer(second)) }
        }
    }

    /// The hash of two strings' UTF-8 bytes (the event reader hashes ids where it reads them).
    /// The hash of one byte string (as a hash table's key).
    @inlinable public static func of(_ bytes: UnsafeRawBufferPointer) -> UInt64 {
        let hash = mix(seed, bytes)
        return hash == 0 ? 1 : hash
    }

    @inlinable public static func of(_ first: UnsafeRawBufferPointer, _ second: UnsafeRawBufferPointer) -> UInt64 {
        let hash = mix(mix(seed, first), second)
        return hash == 0 ? 1 : hash
    }

    @inlinable static func mix(_ start: UInt64, _ raw: UnsafeRawBufferPointer) -> UInt64 {
        // The length first, so that ("ab", "c") and ("a", "bc") differ.
        var hash = (start ^ UInt64(raw.count)) &* 0x9e37_79b9_7f4a_7c15
        var offset = 0
        while offset + 8 <= raw.count {
            hash = (hash ^ raw.loadUnaligned(fromByteOffset: offset, as: UInt64.self)) &* 0xff51_afd7_ed55_8ccd
            hash ^= hash >> 32
            offset += 8
        }
        var tail: UInt64 = 0
        while offset < raw.count {
            tail = tail << 8 | UInt64(raw[offset])
            offset += 1
        }
        hash = (hash ^ tail) &* 0xc4ce_b9fe_1a85_ec53
        return hash ^ (hash >> 29)
    }
}
