import FeedbackLog
import Foundation

// Reading what the processor keeps: profiles and metric windows.
extension FeedbackProcessor {
    /// The profile of `user` (a user id, or a device id for anonymous traffic); nil if never seen.
    public func profile(user: String) throws -> UserProfile? {
        try StoredProfile.read(user: user, from: store)?.profile(user: user, halfLifeMs: affinityHalfLifeMs)
    }

    /// The most recent `limit` metric windows, newest minute first.
    public func metrics(limit: Int = 20) throws -> [MetricsWindow] {
        try store.query(
            "SELECT minute_ms, scene, source, impressions, clicks, conversions, revenue FROM metrics "
                + "ORDER BY minute_ms DESC, scene, source LIMIT ?", [.int(Int64(limit))]
        ).compactMap(Self.window)
    }

    static func window(_ row: [SQLiteConnection.Value]) -> MetricsWindow? {
        guard case .int(let minute) = row[0], case .text(let scene) = row[1], case .text(let source) = row[2],
            case .int(let impressions) = row[3], case .int(let clicks) = row[4], case .int(let conversions) = row[5]
        else { return nil }
        let revenue: Double =
            switch row[6] {
            case .double(let value): value
            case .int(let value): Double(value)
            default: 0
            }
        return MetricsWindow(
            minuteMs: minute, scene: scene, source: source, impressions: Int(impressions), clicks: Int(clicks),
            conversions: Int(conversions), revenue: revenue)
    }

    /// Every window of these minutes, as the store holds it now.
    func metrics(minutes: Set<Int64>) throws -> [MetricsWindow] {
        try minutes.sorted().flatMap { minute in
            try store.query(
                "SELECT minute_ms, scene, source, impressions, clicks, conversions, revenue FROM metrics WHERE minute_ms = ?",
                [.int(minute)]
            ).compactMap(Self.window)
        }
    }
}
