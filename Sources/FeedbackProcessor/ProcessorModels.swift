/// A user's profile as the processor keeps it.
public struct UserProfile: Sendable, Hashable, Codable {
    public var user: String
    /// Events per type.
    public var counts: [String: Int]
    /// Most recent clicked items, newest first.
    public var recentClicks: [String]
    /// Decayed affinity per feature (`recall_source=hot`, `category=books`), as of `lastSeenMs`.
    public var affinity: [String: Double]
    public var lastSeenMs: Int64
}

/// Live metrics of one minute × scene × recall source.
public struct MetricsWindow: Sendable, Hashable, Codable {
    public var minuteMs: Int64
    public var scene: String
    public var source: String
    public var impressions: Int
    public var clicks: Int
    public var conversions: Int
    public var revenue: Double
    /// clicks / impressions (0 without impressions).
    public var ctr: Double { impressions == 0 ? 0 : Double(clicks) / Double(impressions) }
    /// conversions / clicks (0 without clicks).
    public var cvr: Double { clicks == 0 ? 0 : Double(conversions) / Double(clicks) }
}

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
