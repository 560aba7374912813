/// Elements filed by the second of their event time and taken out oldest first: closing attribution windows
/// takes what is due without touching the rest. (Closing by scanning each batch's segment rebuilt the whole
/// segment every time; closing after every poll made that ten times as often.)
///
/// Seconds are kept in order in an array: events arrive nearly in time order, so most go into the last
/// second; any other is found by binary search (no hashing per element). Partitions read in turn can be
/// hundreds of seconds apart: looking back from the end one second at a time was 3 % of the processor's
/// work from Kafka.
///
/// ```swift
/// var open = TimeBuckets<Impression>()
/// open.insert(impression, atMs: impression.timestampMs)
/// let due = open.removeThrough(limitMs, timeMs: \.timestampMs)  // by second; unordered within one
/// ```
public struct TimeBuckets<Element> {
    @usableFromInline var buckets: [(second: Int64, elements: [Element])] = []
    /// Buckets before it have been taken (compacted now and then).
    @usableFromInline var head = 0

    /// Elements held.
    @usableFromInline var storedCount = 0
    /// Elements held.
    @inlinable public var count: Int { storedCount }

    @inlinable public init() {}

    /// The second of a time in milliseconds, rounded down (before 1970 too; no overflow at the extremes).
    @inlinable public static func second(ofMs ms: Int64) -> Int64 { ms >= 0 ? ms / 1000 : -((-(ms + 1)) / 1000) - 1 }

    @inlinable public mutating func insert(_ element: Element, atMs ms: Int64) {
        let second = Self.second(ofMs: ms)
        storedCount += 1
        var index = buckets.count
        if index > head, buckets[index - 1].second > second {
            // The first bucket after `second`, in head ..< count - 1 (the last one is after it).
            var (low, high) = (head, buckets.count - 1)
            while low < high {
                let middle = (low + high) / 2
                if buckets[middle].second > second { high = middle } else { low = middle + 1 }
            }
            index = low
        }
        if index > head, buckets[index - 1].second == second {
            buckets[index - 1].elements.append(element)
        } else {
            // A new second holds about as many as the one before it: room for them at once, rather than
            // the array growing (and being copied) a dozen times.
            var elements: [Element] = []
            elements.reserveCapacity(index > head ? min(buckets[index - 1].elements.count, 1 << 16) : 1)
            elements.append(element)
            buckets.insert((second, elements), at: index)
        }
    }

    /// Removes and returns the elements whose time (`timeMs`) is at or before `limitMs`: whole buckets of
    /// earlier seconds, and those due in the bucket of the limit's second.
    @inlinable public mutating func removeThrough(_ limitMs: Int64, timeMs: (Element) -> Int64) -> [Element] {
        let limitSecond = Self.second(ofMs: limitMs)
        var taken: [Element] = []
        while head < buckets.count, buckets[head].second <= limitSecond {
            if buckets[head].second < limitSecond || limitMs - limitSecond * 1000 == 999 {
                taken.append(contentsOf: buckets[head].elements)
                buckets[head].elements = []
                head += 1
                continue
            }
            var kept: [Element] = []
            for element in buckets[head].elements {
                if timeMs(element) <= limitMs { taken.append(element) } else { kept.append(element) }
            }
            buckets[head].elements = kept
            if kept.isEmpty { head += 1 }
            break
        }
        storedCount -= taken.count
        if head > 64, head * 2 > buckets.count {
            buckets.removeFirst(head)
            head = 0
        }
        return taken
    }
}
