import FeedbackWire

/// An input record the processor refused, kept with where it came from and why: nothing read is lost,
/// every record is exactly one of processed, duplicate or failed. Written in the batch's transaction (so
/// exactly once, with the offsets), listed by `feedback failed`, fed back corrected by `feedback failed
/// redrive`.
///
/// ```swift
/// for failed in try processor.failedRecords(limit: 100) {
///     print(failed.partition, failed.offset, failed.reason)   // 0 42 not a feedback event: timestamp_ms must be a number
/// }
/// ```
public struct FailedRecord: Sendable, Hashable, Codable {
    /// The source it was read from (`local:PATH`, `kafka:TOPIC`).
    public var source: String
    public var partition: Int32
    public var offset: Int64
    /// The reason's short name (``WireError/kind``: `wrong_type`, `over_limit`, ...).
    public var kind: String
    /// What is wrong and what to fix.
    public var reason: String
    /// The record's size in bytes.
    public var size: Int
    /// Its bytes, the first ``maxKeptBytes`` of them.
    public var payload: [UInt8]

    /// How much of a failed record is kept.
    public static let maxKeptBytes = 64 * 1024

    public init(source: String, partition: Int32, offset: Int64, error: WireError, payload: [UInt8]) {
        self.source = source
        self.partition = partition
        self.offset = offset
        kind = error.kind
        reason = error.description
        size = payload.count
        self.payload = Array(payload.prefix(Self.maxKeptBytes))
    }

    init(source: String, partition: Int32, offset: Int64, kind: String, reason: String, size: Int, payload: [UInt8]) {
        (self.source, self.partition, self.offset, self.kind) = (source, partition, offset, kind)
        (self.reason, self.size, self.payload) = (reason, size, payload)
    }

    /// Whether ``payload`` is the whole record.
    public var isWhole: Bool { payload.count == size }
}

extension FailedRecord {
    /// A failed record as one line of JSON: what `feedback failed list --json` prints, the dead-letter
    /// topic holds, and `feedback failed redrive` reads back with `record` corrected.
    ///
    /// ```swift
    /// let line = try JSONDecoder().decode(FailedRecord.Line.self, from: Data(text.utf8))
    /// print(line.partition, line.offset, line.reason, line.record)
    /// ```
    public struct Line: Codable, Sendable, Hashable {
        public var source: String
        public var partition: Int32
        public var offset: Int64
        public var kind: String
        public var reason: String
        public var size: Int
        /// False when `record` holds only the first 64 KiB of the record.
        public var whole: Bool
        /// The record's bytes as text (invalid UTF-8 replaced).
        public var record: String
    }

    public var line: Line {
        Line(
            source: source, partition: partition, offset: offset, kind: kind, reason: reason, size: size,
            whole: isWhole, record: String(decoding: payload, as: UTF8.self))
    }
}
