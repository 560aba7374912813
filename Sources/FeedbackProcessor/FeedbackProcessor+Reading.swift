import FeedbackLog
import Foundation

// Reading what the processor keeps: profiles and metric windows.
extension FeedbackProcessor {
    /// The profile of `user` (a user id, or a device id for anonymous traffic); nil if never seen.
    public func profile(user: String) throws -> UserProfile? {
        guard
            let lastSeen = try store.queryInt("SELECT last_seen_ms FROM profile_seen WHERE user_id = ?", [.text(user)])
        else { return nil }
        var counts: [String: Int] = [:]
        for row in try store.query("SELECT type, count FROM profile_counts WHERE user_id = ?", [.text(user)]) {
            if case .text(let type) = row[0], case .int(let count) = row[1] { counts[type] = Int(count) }
        }
        let clicks = try store.query(
            "SELECT item_id FROM profile_clicks WHERE user_id = ? ORDER BY ts DESC, event_id DESC", [.text(user)]
        ).compactMap { row -> String? in if case .text(let item) = row[0] { item } else { nil } }
        var affinity: [String: Double] = [:]
        let halfLife = Double(configuration.affinityHalfLife.milliseconds)
        for row in try store.query(
            "SELECT feature, score, updated_ms FROM profile_affinity WHERE user_id = ?", [.text(user)])
        {
            if case .text(let feature) = row[0], case .double(let score) = row[1], case .int(let updated) = row[2] {
                affinity[feature] = score * pow(2, -Double(max(0, lastSeen - updated)) / halfLife)
            }
        }
        return UserProfile(user: user, counts: counts, recentClicks: clicks, affinity: affinity, lastSeenMs: lastSeen)
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
