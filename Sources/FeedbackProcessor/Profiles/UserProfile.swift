/// A user's profile as the processor keeps it.
///
/// ```swift
/// if let profile = try processor.profile(user: "user_1") { print(profile.counts["click", default: 0]) }
/// ```
public struct UserProfile: Sendable, Hashable, Codable {
    public var user: String
    /// Events per type.
    public var counts: [String: Int]
    /// Most recent clicked items, newest first.
    public var recentClicks: [String]
    /// Decayed affinity per feature (`recall_source=hot`, `category=books`), as of `lastSeenMs`.
    public var affinity: [String: Double]
    public var lastSeenMs: Int64

    public init(
        user: String, counts: [String: Int], recentClicks: [String], affinity: [String: Double], lastSeenMs: Int64
    ) {
        (self.user, self.counts, self.recentClicks, self.affinity, self.lastSeenMs) =
            (user, counts, recentClicks, affinity, lastSeenMs)
    }
}
