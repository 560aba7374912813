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
    /// 0: an empty slot (``PairHash`` never gives 0).
    private var hashes: [UInt64]
    private var elements: [Element?]
    private(set) var count = 0

    init() {
        hashes = Array(repeating: 0, count: 16)
        elements = Array(repeating: nil, count: 16)
    }

    private var mask: Int { hashes.count - 1 }

    mutating func insert(_ element: consuming Element, hash: UInt64) {
        if (count + 1) * 2 > hashes.count { resize(to: hashes.count * 2) }
        var slot = Int(truncatingIfNeeded: hash) & mask
        while hashes[slot] != 0 { slot = (slot + 1) & mask }
        hashes[slot] = hash
        elements[slot] = consume element  // moved in (a resize moves every entry: no retain each)
        count += 1
    }

    /// Calls `body` with every element filed under `hash`.
    func forEach(hash: UInt64, _ body: (Element) -> Void) {
        var slot = Int(truncatingIfNeeded: hash) & mask
        while hashes[slot] != 0 {
            if hashes[slot] == hash { body(elements[slot]!) }
            slot = (slot + 1) & mask
        }
    }

    /// Removes `element` (the same instance) filed under `hash`, if it is there.
    mutating func remove(_ element: Element, hash: UInt64) {
        var slot = Int(truncatingIfNeeded: hash) & mask
        while hashes[slot] != 0 {
            if hashes[slot] == hash, elements[slot]! === element {
                removeSlot(slot)
                count -= 1
                if hashes.count > 1024, count * 8 < hashes.count { resize(to: hashes.count / 2) }
                return
            }
            slot = (slot + 1) & mask
        }
    }

    /// Empties `slot`, moving back the entries after it that could not sit where they belong while it was
    /// taken (backward-shift deletion: no tombstones, so probe runs stay short).
    private mutating func removeSlot(_ removed: Int) {
        // Entries are moved by swapping with the empty hole (assigning one retained the moved object and
        // released the one it replaced, on reference counts shared with other threads).
        elements[removed] = nil
        var hole = removed
        var next = (hole + 1) & mask
        while hashes[next] != 0 {
            let home = Int(truncatingIfNeeded: hashes[next]) & mask
            // The entry at `next` may move to the hole if its home is not cyclically within (hole, next].
            let distanceToNext = (next - home) & mask
            let distanceToHole = (hole - home) & mask
            if distanceToHole < distanceToNext {
                hashes[hole] = hashes[next]
                // Through the buffer: Array's own swapAt copies both entries (a retain and release each).
                elements.withUnsafeMutableBufferPointer { $0.swapAt(hole, next) }
                hole = next
            }
            next = (next + 1) & mask
        }
        hashes[hole] = 0
    }

    private mutating func resize(to capacity: Int) {
        let oldHashes = hashes
        var oldElements = Array(repeating: Element?.none, count: capacity)
        swap(&oldElements, &elements)
        hashes = Array(repeating: 0, count: capacity)
        count = 0
        // Moved out, not copied: no retain and release per element.
        for slot in oldHashes.indices where oldHashes[slot] != 0 {
            insert(oldElements[slot].take()!, hash: oldHashes[slot])
        }
    }
}
