import CPrefetch

/// The CPU's prefetch hint: starts loading the cache line of a value that a loop will read a few
/// iterations later (a hash-table slot, a profile). A hint only — any index within the array is fine, and
/// nothing is read or written.
///
/// ```swift
/// for index in events.indices {
///     if index + Prefetch.distance < events.count { slots.prefetch(at: slotOf(events[index + Prefetch.distance])) }
///     apply(events[index])
/// }
/// ```
public enum Prefetch {
    /// How many events ahead of the one being applied the processor's loops prefetch (one distance for all:
    /// far enough for a load from memory to land, near enough to stay in the cache).
    public static let distance = 8

    /// Starts loading `address`'s cache line.
    @inlinable @inline(__always) public static func load(_ address: UnsafeRawPointer) {
        feedback_prefetch(address)
    }
}

extension Array {
    /// Starts loading the cache line of the element at `index` (which must be within the array).
    @inlinable @inline(__always) public func prefetch(at index: Int) {
        withUnsafeBufferPointer { Prefetch.load($0.baseAddress! + index) }
    }
}
