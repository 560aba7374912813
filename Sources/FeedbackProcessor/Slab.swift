/// Values held by small integer handles, slots reused: the attribution state keeps each open impression and
/// action once, here, and files its handle in the indexes — no object per impression, so no allocation,
/// reference counting or freeing per event (retaining each impression into three structures was a third
/// of adding it).
///
/// A handle freed is reused only after ``recycle()`` (the state calls it when a batch begins), so handles
/// listed during a batch never come to name another value within it.
///
/// ```swift
/// var slab = Slab<String>()
/// let handle = slab.insert("a")
/// slab[handle]  // "a"
/// _ = slab.remove(handle)  // "a"; `handle` names nothing until the slot is recycled and reused
/// ```
struct Slab<Element> {
    /// Slots in chunks of a fixed size: growing adds a chunk, never copies what is held (one array, doubled
    /// when full, held half as much again while it was copied: +10 % peak memory with a million held).
    private var chunks: [[Element?]] = []
    private static var chunkBits: Int { 12 }
    private static var chunkMask: Int { (1 << chunkBits) - 1 }
    /// Slots handed out so far (in use or free).
    private var used = 0
    /// Free slots, reused by `insert`.
    private var free: [Int32] = []
    /// Slots freed since the last `recycle()`.
    private var freed: [Int32] = []
    /// Values held.
    private(set) var count = 0

    mutating func insert(_ element: consuming Element) -> Int32 {
        count += 1
        if let handle = free.popLast() {
            chunks[Int(handle) >> Self.chunkBits][Int(handle) & Self.chunkMask] = consume element
            return handle
        }
        precondition(used < Int(Int32.max), "more than 2^31 values held")
        if used & Self.chunkMask == 0 {
            chunks.append([])
            chunks[chunks.count - 1].reserveCapacity(1 << Self.chunkBits)
        }
        chunks[chunks.count - 1].append(consume element)
        used += 1
        return Int32(used - 1)
    }

    /// The value of a handle held.
    subscript(handle: Int32) -> Element {
        _read { yield chunks[Int(handle) >> Self.chunkBits][Int(handle) & Self.chunkMask]! }
    }

    /// Whether `handle` names a value (false once removed).
    func holds(_ handle: Int32) -> Bool {
        chunks[Int(handle) >> Self.chunkBits][Int(handle) & Self.chunkMask] != nil
    }

    /// Takes the value out; its slot is reused after the next `recycle()`.
    mutating func remove(_ handle: Int32) -> Element {
        count -= 1
        freed.append(handle)
        guard let element = chunks[Int(handle) >> Self.chunkBits][Int(handle) & Self.chunkMask].take() else {
            preconditionFailure("slab handle \(handle) is free")
        }
        return element
    }

    /// Makes the slots freed since the last call reusable.
    mutating func recycle() {
        free.append(contentsOf: freed)
        freed.removeAll(keepingCapacity: true)
    }
}
