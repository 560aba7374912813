/// The 64-bit hash under which the processor's store remembers an event id for de-duplication.
///
/// Part of the store's layout: it must never change (a new hash needs a new layout and a migration).
/// FNV-1a over the id's UTF-8, then MurmurHash3's 64-bit finaliser for avalanche. Two different ids are
/// taken for one only if they also share the millisecond (seen ids are keyed by time and hash): with 100
/// events in a millisecond, about once in 10^15 milliseconds.
package enum EventIDHash {
    package static func of(_ id: String) -> Int64 {
        var id = id
        return id.withUTF8 { of(UnsafeRawBufferPointer($0)) }
    }

    /// The hash of an id's UTF-8 bytes (the event reader hashes ids where it reads them).
    package static func of(_ bytes: UnsafeRawBufferPointer) -> Int64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in bytes {
            hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01b3
        }
        hash ^= hash >> 33
        hash = hash &* 0xff51_afd7_ed55_8ccd
        hash ^= hash >> 33
        hash = hash &* 0xc4ce_b9fe_1a85_ec53
        hash ^= hash >> 33
        return Int64(bitPattern: hash)
    }
}
