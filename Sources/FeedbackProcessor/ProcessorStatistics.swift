/// What one processing pass did.
public struct ProcessorStatistics: Sendable, Hashable, Codable {
    public var processed = 0
    public var duplicates = 0
    public var invalid = 0
    public var samples = 0
    public var offset: Int64 = 0
    public init() {}

    /// Adds another pass's counts (the offset is the later one's).
    public mutating func add(_ other: ProcessorStatistics) {
        processed += other.processed
        duplicates += other.duplicates
        invalid += other.invalid
        samples += other.samples
        offset = max(offset, other.offset)
    }
}
