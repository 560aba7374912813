/// Values held by small integer handles, slots reused: the attribution state keeps each open impression and
/// action once, here, and files its handle in the indexes — no object per impression, so no allocation,
/// reference counting or freeing per event (retaining each impression into three structures was a third
/// of adding it).
///
/// A handle freed is reused only after ``recycle()`` (the state calls it when a batch begins), so handles
/// listed during a batch never come to name another value within it.
///
/// Values are read where they lie (`slab[handle].field` copies the field, not the value). Slots held as
/// optionals in arrays (`[[Element?]]`) were read by copying the whole optional value and destroying the copy,
/// through `Optional`'s generic value witnesses: ~250 instructions per look-up of one field.
///
/// ```swift
/// var slab = Slab<String>()
/// let handle = slab.insert("a")
/// slab[handle]  // "a"
/// _ = slab.remove(handle)  // "a"; `handle` names nothing until the slot is recycled and reused
/// ```
public struct Slab<Element>: ~Copyable {
    /// Slots in chunks of a fixed size, allocated once and never moved: growing adds a chunk, never copies
    /// what is held (one array, doubled when full, held half as much again while it was copied: +10 % peak
    /// memory with a million held).
    @usableFromInline var chunks: [UnsafeMutablePointer<Element>] = []
    /// One bit per slot handed out: set while the slot holds a value.
    @usableFromInline var occupied: [UInt64] = []
    @inlinable static var chunkBits: Int { 12 }
    @inlinable static var chunkSize: Int { 1 << chunkBits }
    @inlinable static var chunkMask: Int { chunkSize - 1 }
    /// Slots handed out so far (in use or free).
    @usableFromInline var used = 0
    /// Free slots, reused by `insert`.
    @usableFromInline var free: [Int32] = []
    /// Slots freed since the last `recycle()`.
    @usableFromInline var freed: [Int32] = []
    /// Values held.
    @usableFromInline var storedCount = 0
    /// Elements held.
    @inlinable public var count: Int { storedCount }

    @inlinable public init() {}

    deinit {
        for handle in 0..<used where occupied[handle >> 6] & (1 << UInt64(handle & 63)) != 0 {
            slot(Int32(handle)).deinitialize(count: 1)
        }
        for chunk in chunks { chunk.deallocate() }
    }

    @inlinable @inline(__always) func slot(_ handle: Int32) -> UnsafeMutablePointer<Element> {
        chunks[Int(handle) >> Self.chunkBits] + (Int(handle) & Self.chunkMask)
    }

    @inlinable public mutating func insert(_ element: consuming Element) -> Int32 {
        storedCount += 1
        let handle: Int32
        if let reused = free.popLast() {
            handle = reused
        } else {
            precondition(used < Int(Int32.max), "more than 2^31 values held")
            if used & Self.chunkMask == 0 { chunks.append(.allocate(capacity: Self.chunkSize)) }
            if used & 63 == 0 { occupied.append(0) }
            handle = Int32(used)
            used += 1
        }
        slot(handle).initialize(to: element)
        occupied[Int(handle) >> 6] |= 1 << UInt64(handle & 63)
        return handle
    }

    /// The value of a handle held (read in place).
    @inlinable public subscript(handle: Int32) -> Element {
        unsafeAddress {
            precondition(holds(handle), "slab handle \(handle) is free")
            return UnsafePointer(slot(handle))
        }
    }

    /// Whether `handle` names a value (false once removed).
    @inlinable public func holds(_ handle: Int32) -> Bool {
        Int(handle) < used && occupied[Int(handle) >> 6] & (1 << UInt64(handle & 63)) != 0
    }

    /// Takes the value out; its slot is reused after the next `recycle()`.
    @inlinable public mutating func remove(_ handle: Int32) -> Element {
        precondition(holds(handle), "slab handle \(handle) is free")
        storedCount -= 1
        freed.append(handle)
        occupied[Int(handle) >> 6] &= ~(1 << UInt64(handle & 63))
        return slot(handle).move()
    }

    /// Makes the slots freed since the last call reusable.
    @inlinable public mutating func recycle() {
        free.append(contentsOf: freed)
        freed.removeAll(keepingCapacity: true)
    }
}
