/// When each partition last delivered a record, by the wall clock: an assigned partition that delivered
/// nothing for the idle timeout stops holding the watermark back (Flink's `withIdleness`), so one quiet or
/// empty partition cannot keep every window open and the state growing without a bound.
///
/// The price, as in Flink: a partition that wakes up after being idle may bring events older than the
/// watermark the others moved on; their impressions close at the next poll, with what joined them in that
/// poll. Events of one user share a partition (the key is the user id), so a user's clicks follow their
/// impressions in order either way.
///
/// ```swift
/// var activity = PartitionActivity()
/// activity.saw(poll.records, at: .now)
/// clock.idle = activity.idle(among: source.assignment, timeout: .seconds(60), at: .now)
/// ```
struct PartitionActivity {
    /// Last record per partition, or when the partition was first assigned if it has delivered none.
    private var lastActive: [Int32: ContinuousClock.Instant] = [:]

    /// `records` arrived now.
    mutating func saw(_ records: [SourceRecord], at now: ContinuousClock.Instant) {
        var previous = Int32.min
        for record in records where record.partition != previous {
            previous = record.partition
            lastActive[previous] = now
        }
    }

    /// The partitions among `assigned` (or among those seen, for a source without an assignment) that
    /// delivered nothing for `timeout`.
    mutating func idle(among assigned: [Int32], timeout: Duration?, at now: ContinuousClock.Instant) -> Set<Int32> {
        guard let timeout else { return [] }
        for partition in assigned where lastActive[partition] == nil { lastActive[partition] = now }
        let partitions = assigned.isEmpty ? Array(lastActive.keys) : assigned
        return Set(partitions.filter { now - lastActive[$0, default: now] >= timeout })
    }
}
