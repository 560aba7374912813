import FeedbackProcessor
import Foundation
import Redis

/// User profiles in Redis, one pipeline per batch, each user's keys replaced atomically (MULTI/EXEC) and
/// given a TTL:
/// - `<prefix>:profile:<user>` hash: `count:<type>` and `last_seen_ms`
/// - `<prefix>:affinity:<user>` sorted set: feature → decayed score (as of `last_seen_ms`)
/// - `<prefix>:clicks:<user>` list: recent clicked items, newest first
///
/// ```swift
/// let sink = try RedisProfileSink(host: "127.0.0.1", port: 6379)
/// let processor = try FeedbackProcessor(log: log, configuration: configuration, profileSinks: [sink])
/// let profile = try sink.read(user: "user_1")
/// ```
public final class RedisProfileSink: ProfileSink {
    public let prefix: String
    public let ttl: Duration
    private let connection: RedisConnection

    public init(host: String, port: Int, ttl: Duration = .seconds(30 * 24 * 3600), prefix: String = "feedback") throws {
        connection = try RedisConnection(host: host, port: port)
        self.ttl = ttl
        self.prefix = prefix
    }

    func keys(_ user: String) -> (profile: String, affinity: String, clicks: String) {
        ("\(prefix):profile:\(user)", "\(prefix):affinity:\(user)", "\(prefix):clicks:\(user)")
    }

    public func write(_ profiles: [UserProfile]) throws {
        guard !profiles.isEmpty else { return }
        let seconds = String(max(1, ttl.components.seconds))
        var commands: [[String]] = []
        for profile in profiles {
            let (profileKey, affinityKey, clicksKey) = keys(profile.user)
            commands.append(["MULTI"])
            commands.append(["DEL", profileKey, affinityKey, clicksKey])
            var hash = ["HSET", profileKey, "last_seen_ms", String(profile.lastSeenMs)]
            for (type, count) in profile.counts.sorted(by: { $0.key < $1.key }) {
                hash += ["count:\(type)", String(count)]
            }
            commands.append(hash)
            if !profile.affinity.isEmpty {
                var zadd = ["ZADD", affinityKey]
                for (feature, score) in profile.affinity.sorted(by: { $0.key < $1.key }) {
                    zadd += [String(score), feature]
                }
                commands.append(zadd)
                commands.append(["EXPIRE", affinityKey, seconds])
            }
            if !profile.recentClicks.isEmpty {
                commands.append(["RPUSH", clicksKey] + profile.recentClicks)
                commands.append(["EXPIRE", clicksKey, seconds])
            }
            commands.append(["EXPIRE", profileKey, seconds])
            commands.append(["EXEC"])
        }
        for reply in try connection.pipeline(commands) {
            if case .error(let message) = reply {
                throw RedisError(message: "Redis refused a profile write: \(message)")
            }
        }
    }

    /// The profile of `user` as Redis holds it; nil if absent (never seen, or expired).
    public func read(user: String) throws -> UserProfile? {
        let (profileKey, affinityKey, clicksKey) = keys(user)
        let replies = try connection.pipeline([
            ["HGETALL", profileKey], ["ZRANGE", affinityKey, "0", "-1", "WITHSCORES"],
            ["LRANGE", clicksKey, "0", "-1"],
        ])
        guard case .array(let hash) = replies[0], !hash.isEmpty else { return nil }
        var counts: [String: Int] = [:]
        var lastSeen: Int64 = 0
        for index in stride(from: 0, to: hash.count - 1, by: 2) {
            guard case .string(let field) = hash[index], case .string(let value) = hash[index + 1] else { continue }
            if field == "last_seen_ms" { lastSeen = Int64(value) ?? 0 }
            if field.hasPrefix("count:") { counts[String(field.dropFirst(6))] = Int(value) ?? 0 }
        }
        var affinity: [String: Double] = [:]
        if case .array(let pairs) = replies[1] {
            for index in stride(from: 0, to: pairs.count - 1, by: 2) {
                if case .string(let feature) = pairs[index], case .string(let score) = pairs[index + 1] {
                    affinity[feature] = Double(score) ?? 0
                }
            }
        }
        var clicks: [String] = []
        if case .array(let items) = replies[2] {
            clicks = items.compactMap { if case .string(let item) = $0 { item } else { nil } }
        }
        return UserProfile(user: user, counts: counts, recentClicks: clicks, affinity: affinity, lastSeenMs: lastSeen)
    }

    /// Seconds before `user`'s profile expires (-2 if absent).
    public func timeToLive(user: String) throws -> Int64 {
        if case .integer(let seconds) = try connection.pipeline([["TTL", keys(user).profile]])[0] { return seconds }
        return -2
    }
}
