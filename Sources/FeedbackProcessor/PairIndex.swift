/// Objects filed by a ``PairHash``: an open-addressing table (linear probing, no tombstones) in which a
/// hash may hold several objects — the attribution indexes file every impression under its request and
/// item, every action under its request (or user) and item. Callers check the strings of what a hash
/// gives back: different pairs may share a hash.
///
/// Why not a `Dictionary` of buckets: its keys were hashed with SipHash on every insert, look-up and
/// removal (a third of closing windows), and a bucket per key meant a second structure per element.
///
/// ```swift
/// var index = PairIndex<Impression>()
/// index.insert(impression, hash: impression.requestHash)
/// index.forEach(hash: PairHash.of("req_1", "item_9")) { candidate in ... }  // compare its strings
/// index.remove(impression, hash: impression.requestHash)
/// ```
struct PairIndex<Element: AnyObject> {
    /// A hash and what it files, side by side: a probe reads one cache line, not one in each of two arrays (the
    /// index outgrows the caches; its inserts were a tenth of the processor's thread).
    private struct Slot {
        /// 0: an empty slot (``PairHash`` never gives 0).
        var hash: UInt64
        var element: Element?
    }

    private var slots: [Slot]
    private(set) var count = 0

    init() {
        slots = Array(repeating: Slot(hash: 0, element: nil), count: 16)
    }

    private var mask: Int { slots.count - 1 }

    mutating func insert(_ element: consuming Element, hash: UInt64) {
        if (count + 1) * 2 > slots.count { resize(to: slots.count * 2) }
        let mask = mask
        var moving: Element? = consume element
        slots.withUnsafeMutableBufferPointer { slots in
            var slot = Int(truncatingIfNeeded: hash) & mask
            while slots[slot].hash != 0 { slot = (slot + 1) & mask }
            slots[slot].hash = hash
            slots[slot].element = moving.take()  // moved in (a resize moves every entry: no retain each)
        }
        count += 1
    }

    /// Calls `body` with every element filed under `hash`.
    func forEach(hash: UInt64, _ body: (Element) -> Void) {
        let mask = mask
        slots.withUnsafeBufferPointer { slots in
            var slot = Int(truncatingIfNeeded: hash) & mask
            while slots[slot].hash != 0 {
                if slots[slot].hash == hash { body(slots[slot].element!) }
                slot = (slot + 1) & mask
            }
        }
    }

    /// Removes `element` (the same instance) filed under `hash`, if it is there.
    mutating func remove(_ element: Element, hash: UInt64) {
        let mask = mask
        let removed = slots.withUnsafeMutableBufferPointer { slots in
            var slot = Int(truncatingIfNeeded: hash) & mask
            while slots[slot].hash != 0 {
                if slots[slot].hash == hash, slots[slot].element! === element {
                    Self.removeSlot(slot, from: slots, mask: mask)
                    return true
                }
                slot = (slot + 1) & mask
            }
            return false
        }
        guard removed else { return }
        count -= 1
        if slots.count > 1024, count * 8 < slots.count { resize(to: slots.count / 2) }
    }

    /// Empties `slot`, moving back the entries after it that could not sit where they belong while it was
    /// taken (backward-shift deletion: no tombstones, so probe runs stay short).
    private static func removeSlot(_ removed: Int, from slots: UnsafeMutableBufferPointer<Slot>, mask: Int) {
        // Entries are moved by swapping with the empty hole (assigning one retained the moved object and
        // released the one it replaced, on reference counts shared with other threads).
        slots[removed].element = nil
        var hole = removed
        var next = (hole + 1) & mask
        while slots[next].hash != 0 {
            let home = Int(truncatingIfNeeded: slots[next].hash) & mask
            // The entry at `next` may move to the hole if its home is not cyclically within (hole, next].
            let distanceToNext = (next - home) & mask
            let distanceToHole = (hole - home) & mask
            if distanceToHole < distanceToNext {
                slots.swapAt(hole, next)
                hole = next
            }
            next = (next + 1) & mask
        }
        slots[hole].hash = 0
    }

    private mutating func resize(to capacity: Int) {
        var old = Array(repeating: Slot(hash: 0, element: nil), count: capacity)
        swap(&old, &slots)
        count = 0
        // Moved out, not copied: no retain and release per element.
        for index in old.indices where old[index].hash != 0 {
            insert(old[index].element.take()!, hash: old[index].hash)
        }
    }
}
