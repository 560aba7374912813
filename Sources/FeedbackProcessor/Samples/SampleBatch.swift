import Deflate
import Feedback

/// One batch's training samples: JSON lines grouped by the UTC hour of their impression, appended as they are
/// written (no array and no partition name per sample), then written as one gzip file per hour,
/// `dt=YYYY-MM-DD/hour=HH/part-N.jsonl.gz`.
///
/// At level 1, the default, each hour's lines are compressed as they are added (``GzipStream``, once per
/// ``append(_:)`` of a poll's closed windows): a batch holds its samples at about a twelfth of their size —
/// held whole, the lines of a 250,000-event batch were ~50 MB — and what is left to compress when the batch
/// ends is its last poll's. Levels 2 to 9 (libdeflate, whole buffers) hold the lines until ``write(to:part:)``.
///
/// ```swift
/// var samples = SampleBatch(level: 1)
/// samples.append(closedImpressions)  // as windows close
/// try samples.write(to: "feedback-data/samples", part: "00000007")
/// ```
struct SampleBatch {
    /// The samples in the batch.
    private(set) var count = 0
    /// The gzip level of the files: 1 (fastest) to 9 (smallest).
    let level: Int32
    /// Lines not compressed yet, by hour since the epoch (floor of milliseconds / 3,600,000).
    private var linesByHour: [Int64: [UInt8]] = [:]
    /// Level 1: each hour's lines compressed so far, in at most ``maxOpenStreams`` streams at once.
    private var streams: [Int64: GzipStream] = [:]
    /// When each open stream last took lines (a counter): the least recent is finished first.
    private var lastUsed: [Int64: Int] = [:]
    private var uses = 0
    /// Hours whose stream was finished to make room: their complete gzip members, to which the file's
    /// later members are appended (a gzip file may hold several; every reader takes them as one).
    private var finished: [Int64: [UInt8]] = [:]
    /// Open compressors at most (each holds ~360 KB): events spread over thousands of hours must not hold a
    /// compressor per hour.
    static let maxOpenStreams = 64
    /// Compressors open now.
    var openStreams: Int { streams.count }
    /// Why a stream could not compress (out of memory): ``write(to:part:)`` throws it, so the batch fails.
    private var failure: DeflateError?

    init(level: Int32) {
        self.level = level
    }

    /// The samples of `closed`, in order.
    init(_ closed: [ClosedImpression], level: Int32) {
        self.init(level: level)
        append(closed)
    }

    /// Adds the samples of `closed`, in order (at level 1, compressed before it returns).
    mutating func append(_ closed: [ClosedImpression]) {
        let writer = JSONWriter(capacity: 512)
        for impression in closed {
            writer.reset()
            impression.writeSample(to: writer)
            writer.withBytes { append($0, impressionMs: impression.impression.timestampMs) }
        }
        if level == 1 { compressPending() }
    }

    /// Adds one sample's line (`json` ends with a newline).
    private mutating func append(_ json: UnsafeRawBufferPointer, impressionMs: Int64) {
        let hour = impressionMs >= 0 ? impressionMs / 3_600_000 : (impressionMs - 3_599_999) / 3_600_000
        linesByHour[hour, default: []].append(contentsOf: json)
        count += 1
    }

    /// Level 1: the lines added so far go into their hour's stream.
    private mutating func compressPending() {
        guard failure == nil else { return }
        for (hour, lines) in linesByHour where !lines.isEmpty {
            do throws(DeflateError) {
                let stream: GzipStream
                if let started = streams[hour] {
                    stream = started
                } else {
                    if streams.count >= Self.maxOpenStreams { try finishLeastRecentStream() }
                    stream = try GzipStream()
                    streams[hour] = stream
                }
                uses += 1
                lastUsed[hour] = uses
                try Self.compress(lines, into: stream)
            } catch {
                failure = error
                return
            }
            linesByHour[hour]?.removeAll(keepingCapacity: true)
        }
    }

    /// Closes the stream that took lines least recently: its member is kept compressed, its compressor freed.
    private mutating func finishLeastRecentStream() throws(DeflateError) {
        guard let (hour, _) = lastUsed.min(by: { $0.value < $1.value }), let stream = streams[hour] else { return }
        finished[hour, default: []] += try stream.finish()
        streams[hour] = nil
        lastUsed[hour] = nil
    }

    private static func compress(_ lines: [UInt8], into stream: GzipStream) throws(DeflateError) {
        // `withUnsafeBytes` rethrows untyped: the error is carried out as a value.
        let result: Result<Void, DeflateError> = lines.withUnsafeBytes { bytes in
            do throws(DeflateError) { return .success(try stream.append(bytes)) } catch { return .failure(error) }
        }
        try result.get()
    }

    /// Writes one file per hour under `directory` (``GzipFile``: atomic, fsynced); nothing when empty.
    func write(to directory: String, part: String) throws {
        if let failure { throw ProcessorError.samples("cannot compress a sample file: \(failure)") }
        for hour in Set(linesByHour.keys).union(streams.keys).union(finished.keys) {
            let path = "\(directory)/\(HourPartition.path(ofMs: hour * 3_600_000))/part-\(part).jsonl.gz"
            guard streams[hour] != nil || finished[hour] != nil else {
                try GzipFile.write(linesByHour[hour] ?? [], to: path, level: level)
                continue
            }
            var file = finished[hour] ?? []
            do throws(DeflateError) {
                let lines = linesByHour[hour] ?? []
                if let stream = streams[hour] {
                    try Self.compress(lines, into: stream)
                    file += try stream.finish()
                } else if !lines.isEmpty {
                    let stream = try GzipStream()
                    try Self.compress(lines, into: stream)
                    file += try stream.finish()
                }
            } catch {
                throw ProcessorError.samples("cannot compress a sample file: \(error)")
            }
            try GzipFile.write(compressed: file, to: path)
        }
    }
}
