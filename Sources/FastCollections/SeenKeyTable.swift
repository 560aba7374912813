/// An event as the de-duplication window remembers it: its time and its id's hash. A duplicate is the
/// same event sent again: the same id at the same time.
public struct SeenKey: Hashable, Sendable {
    public var timestampMs: Int64
    public var idHash: Int64

    @inlinable public init(timestampMs: Int64, idHash: Int64) {
        self.timestampMs = timestampMs
        self.idHash = idHash
    }
}

/// A set of ``SeenKey``s by open addressing over their own bits — the id hash is already well mixed — rather
/// than `Set`'s SipHash per event (a fifth of applying an event). An empty slot holds `empty` (no event
/// has that time: event times are years 1 to 9999), so a slot is 16 bytes, not an optional's 24, and
/// the probe reads the slots through one pointer, without bounds or uniqueness checks per slot.
public struct SeenKeyTable {
    @usableFromInline static let empty = SeenKey(timestampMs: .min, idHash: 0)
    @usableFromInline var slots: [SeenKey]
    @usableFromInline var count = 0

    /// A table with room for `expected` keys before it grows (a second's table: about as many as the
    /// second before it).
    public init(expected: Int = 32) {
        var capacity = 64
        while capacity < 2 * expected, capacity < 1 << 20 { capacity *= 2 }
        slots = [SeenKey](repeating: Self.empty, count: capacity)
    }

    /// Keys held.
    public var keys: Int { count }

    /// Adds `key`; false if it was there.
    @inlinable public mutating func insert(_ key: SeenKey) -> Bool {
        if 2 * (count + 1) > slots.count { grow() }
        let added = slots.withUnsafeMutableBufferPointer { Self.place(key, in: $0) }
        if added { count += 1 }
        return added
    }

    /// Puts `key` in the first free slot of its probe sequence; false if it is there already.
    @inlinable static func place(_ key: SeenKey, in slots: UnsafeMutableBufferPointer<SeenKey>) -> Bool {
        let mask = slots.count - 1
        var slot = Self.slot(of: key, mask: mask)
        while slots[slot].timestampMs != empty.timestampMs {
            if slots[slot] == key { return false }
            slot = (slot + 1) & mask
        }
        slots[slot] = key
        return true
    }

    @inlinable static func slot(of key: SeenKey, mask: Int) -> Int {
        let mixed = UInt64(bitPattern: key.idHash ^ key.timestampMs) &* 0x9e37_79b9_7f4a_7c15
        return Int(truncatingIfNeeded: mixed >> 32) & mask
    }

    @usableFromInline mutating func grow() {
        let old = slots
        slots = [SeenKey](repeating: Self.empty, count: old.count * 2)
        slots.withUnsafeMutableBufferPointer { slots in
            for key in old where key.timestampMs != Self.empty.timestampMs { _ = Self.place(key, in: slots) }
        }
    }
}
