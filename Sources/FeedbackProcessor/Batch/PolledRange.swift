/// The first and last record read per partition in a batch (payloads dropped): what `rewind` and
/// `commit` need, without holding every record of a batch that spans many polls.
///
/// ```swift
/// var polled = PolledRange()
/// polled.add(records)  // after every poll
/// try source.commit(polled.lastRecords)
/// ```
struct PolledRange {
    private var first: [Int32: Int64] = [:]
    private var last: [Int32: Int64] = [:]

    mutating func add(_ records: [SourceRecord]) {
        // Records come in runs of one partition: one look-up per run.
        var start = records.startIndex
        while start < records.endIndex {
            let partition = records[start].partition
            var lowest = records[start].offset
            var highest = lowest
            var end = start + 1
            while end < records.endIndex, records[end].partition == partition {
                lowest = min(lowest, records[end].offset)
                highest = max(highest, records[end].offset)
                end += 1
            }
            first[partition] = min(first[partition] ?? .max, lowest)
            last[partition] = max(last[partition] ?? .min, highest)
            start = end
        }
    }

    var firstRecords: [SourceRecord] {
        first.map { SourceRecord(partition: $0.key, offset: $0.value, payload: []) }
    }
    var lastRecords: [SourceRecord] { last.map { SourceRecord(partition: $0.key, offset: $0.value, payload: []) } }
}
