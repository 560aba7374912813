/// Event time per partition, and the watermark: the oldest active partition's newest event. A window
/// closes only once every active partition has moved past it (events are in order within a partition; an
/// assigned partition not read yet holds the watermark at the start of time until it is idle). Idle
/// partitions (``PartitionActivity``) do not hold it back; when all are idle, it stays where the ones with
/// events put it.
///
/// ```swift
/// var clock = PartitionClock(newest: try store.newestPerPartition(), assigned: source.assignment)
/// clock.advance(partition: 0, to: event.timestampMs)
/// if clock.hasWatermark { closeWindows(through: clock.watermark - window) }
/// ```
struct PartitionClock {
    /// The newest event time read per partition (kept in the store with the offsets).
    var newest: [Int32: Int64]
    /// The partitions the source reads (empty: every partition seen so far counts).
    let assigned: [Int32]

    /// Partitions that delivered nothing for the idle timeout.
    var idle: Set<Int32> = []

    /// The oldest active partition's newest event time (`Int64.min` while one has none).
    var watermark: Int64 {
        let partitions = assigned.isEmpty ? Array(newest.keys) : assigned
        let active = partitions.filter { !idle.contains($0) }
        if active.isEmpty { return partitions.compactMap { newest[$0] }.min() ?? Int64.min }
        return active.map { newest[$0] ?? Int64.min }.min() ?? Int64.min
    }

    /// Whether every assigned partition has an event time yet.
    var hasWatermark: Bool { watermark > Int64.min / 2 }

    /// Partition `partition` has read an event at `timeMs`.
    mutating func advance(partition: Int32, to timeMs: Int64) {
        newest[partition] = max(newest[partition, default: Int64.min], timeMs)
    }
}
