/// What one processing pass did: every record read is exactly one of processed, duplicate or failed
/// (kept in the store with its reason, ``FailedRecord``).
public struct ProcessorStatistics: Sendable, Hashable, Codable {
    public var processed = 0
    public var duplicates = 0
    /// Records that are not feedback events (or break the wire format's limits).
    public var failed = 0
    public var samples = 0
    public var offset: Int64 = 0
    public init() {}

    /// Adds another pass's counts (the offset is the later one's).
    public mutating func add(_ other: ProcessorStatistics) {
        processed += other.processed
        duplicates += other.duplicates
        failed += other.failed
        samples += other.samples
        offset = max(offset, other.offset)
    }
}
