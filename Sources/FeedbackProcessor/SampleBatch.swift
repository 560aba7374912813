import Feedback

/// One batch's training samples: JSON lines grouped by the UTC hour of their impression, appended as they are
/// written (no array and no partition name per sample), then written as one gzip file per hour,
/// `dt=YYYY-MM-DD/hour=HH/part-N.jsonl.gz`.
///
/// ```swift
/// let samples = SampleBatch(closedImpressions)  // or SampleBatch() and append(_:impressionMs:) per line
/// try samples.write(to: "feedback-data/samples", part: "00000007", level: 1)
/// ```
struct SampleBatch {
    /// The samples in the batch.
    private(set) var count = 0
    /// Lines by hour since the epoch (floor of milliseconds / 3,600,000).
    private var linesByHour: [Int64: [UInt8]] = [:]

    /// The samples of `closed`, in order.
    init(_ closed: [ClosedImpression]) {
        append(closed)
    }

    init() {}

    /// Adds the samples of `closed`, in order.
    mutating func append(_ closed: [ClosedImpression]) {
        let writer = JSONWriter(capacity: 512)
        for impression in closed {
            writer.reset()
            impression.writeSample(to: writer)
            writer.withBytes { append($0, impressionMs: impression.impression.timestampMs) }
        }
    }

    /// Adds one sample's line (`json` ends with a newline).
    mutating func append(_ json: UnsafeRawBufferPointer, impressionMs: Int64) {
        let hour = impressionMs >= 0 ? impressionMs / 3_600_000 : (impressionMs - 3_599_999) / 3_600_000
        linesByHour[hour, default: []].append(contentsOf: json)
        count += 1
    }

    /// Writes one file per hour under `directory` (``GzipFile``: atomic, fsynced); nothing when empty.
    func write(to directory: String, part: String, level: Int32) throws {
        for (hour, lines) in linesByHour {
            let partition = FeedbackProcessor.hourPartition(hour * 3_600_000)
            try GzipFile.write(lines, to: "\(directory)/\(partition)/part-\(part).jsonl.gz", level: level)
        }
    }
}
