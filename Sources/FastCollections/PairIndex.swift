import CPrefetch

/// Handles filed by a ``PairHash``: an open-addressing table (linear probing, no tombstones) in which a
/// hash may file several handles — the attribution indexes file every impression under its request and
/// item, every action under its request (or user) and item. Callers check the strings of what a hash
/// gives back: different pairs may share a hash (or its 32 bits kept here).
///
/// Why not a `Dictionary` of buckets: its keys were hashed with SipHash on every insert, look-up and
/// removal (a third of closing windows), and a bucket per key meant a second structure per element. A slot
/// is 8 bytes — 32 bits of the hash and a ``Slab`` handle — so the table, which outgrows the caches, costs
/// one cache line per probe.
///
/// ```swift
/// var index = PairIndex()
/// index.insert(handle, hash: impression.requestHash)
/// index.forEach(hash: PairHash.of("req_1", "item_9")) { handle in ... }  // compare its strings
/// index.remove(handle, hash: impression.requestHash)
/// ```
public struct PairIndex {
    @usableFromInline struct Slot {
        /// The hash's low 32 bits, never 0 (0: an empty slot); where a slot belongs comes from them too.
        @usableFromInline var tag: UInt32
        @usableFromInline var handle: Int32
        @inlinable init(tag: UInt32, handle: Int32) {
            self.tag = tag
            self.handle = handle
        }
    }

    @usableFromInline var slots: [Slot]
    @usableFromInline var storedCount = 0
    /// Elements held.
    @inlinable public var count: Int { storedCount }

    @inlinable public init() {
        slots = Array(repeating: Slot(tag: 0, handle: 0), count: 16)
    }

    @inlinable var mask: Int { slots.count - 1 }

    @inlinable @inline(__always) static func tag(_ hash: UInt64) -> UInt32 {
        let low = UInt32(truncatingIfNeeded: hash)
        return low == 0 ? 1 : low
    }

    @inlinable public mutating func insert(_ handle: Int32, hash: UInt64) {
        if (count + 1) * 2 > slots.count { resize(to: slots.count * 2) }
        let (mask, tag) = (mask, Self.tag(hash))
        slots.withUnsafeMutableBufferPointer { slots in
            var slot = Int(tag) & mask
            while slots[slot].tag != 0 { slot = (slot + 1) & mask }
            slots[slot] = Slot(tag: tag, handle: handle)
        }
        storedCount += 1
    }

    /// Starts loading the cache line where a probe for `hash` begins (a hint: nothing changes), so that
    /// an insert, look-up or removal a little later does not wait for memory.
    @inlinable public func prefetch(hash: UInt64) {
        let slot = Int(Self.tag(hash)) & mask
        slots.withUnsafeBufferPointer { feedback_prefetch($0.baseAddress! + slot) }
    }

    /// Calls `body` with every handle filed under `hash` (and any other hash with the same low 32 bits).
    @inlinable public func forEach(hash: UInt64, _ body: (Int32) -> Void) {
        let (mask, tag) = (mask, Self.tag(hash))
        slots.withUnsafeBufferPointer { slots in
            var slot = Int(tag) & mask
            while slots[slot].tag != 0 {
                if slots[slot].tag == tag { body(slots[slot].handle) }
                slot = (slot + 1) & mask
            }
        }
    }

    /// Removes `handle` filed under `hash`, if it is there.
    @inlinable public mutating func remove(_ handle: Int32, hash: UInt64) {
        let (mask, tag) = (mask, Self.tag(hash))
        let removed = slots.withUnsafeMutableBufferPointer { slots in
            var slot = Int(tag) & mask
            while slots[slot].tag != 0 {
                if slots[slot].tag == tag, slots[slot].handle == handle {
                    Self.removeSlot(slot, from: slots, mask: mask)
                    return true
                }
                slot = (slot + 1) & mask
            }
            return false
        }
        guard removed else { return }
        storedCount -= 1
        if slots.count > 1024, count * 8 < slots.count { resize(to: slots.count / 2) }
    }

    /// Empties `slot`, moving back the entries after it that could not sit where they belong while it was
    /// taken (backward-shift deletion: no tombstones, so probe runs stay short).
    @inlinable static func removeSlot(_ removed: Int, from slots: UnsafeMutableBufferPointer<Slot>, mask: Int) {
        var hole = removed
        var next = (hole + 1) & mask
        while slots[next].tag != 0 {
            let home = Int(slots[next].tag) & mask
            // The entry at `next` may move to the hole if its home is not cyclically within (hole, next].
            let distanceToNext = (next - home) & mask
            let distanceToHole = (hole - home) & mask
            if distanceToHole < distanceToNext {
                slots[hole] = slots[next]
                hole = next
            }
            next = (next + 1) & mask
        }
        slots[hole].tag = 0
    }

    @inlinable mutating func resize(to capacity: Int) {
        let old = slots
        slots = Array(repeating: Slot(tag: 0, handle: 0), count: capacity)
        let mask = mask
        slots.withUnsafeMutableBufferPointer { slots in
            for entry in old where entry.tag != 0 {
                var slot = Int(entry.tag) & mask
                while slots[slot].tag != 0 { slot = (slot + 1) & mask }
                slots[slot] = entry
            }
        }
    }
}
