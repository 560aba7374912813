import FeedbackProcessor
import Foundation
@_exported import Redis  // its RedisConfiguration and RedisError are part of this API

/// User profiles in Redis, one pipeline per batch, each user's keys replaced atomically (MULTI/EXEC) and
/// given a TTL:
/// - `<prefix>:profile:<user>` hash: `count:<type>` and `last_seen_ms`
/// - `<prefix>:affinity:<user>` sorted set: feature → decayed score (as of `last_seen_ms`)
/// - `<prefix>:clicks:<user>` list: recent clicked items, newest first
///
/// Faults: a connection failure (server restarted, timeout) is retried `attempts` times on a fresh
/// connection, `retryDelay` apart (doubling), then thrown as a retryable ``RedisError`` (the processor rolls
/// the batch back and retries it later; the writes are absolute values, so sending them again is harmless).
/// A user whose transaction Redis refuses for good (an error inside EXEC's replies, a queued command refused
/// — NOPERM, wrong arity — or a discarded EXEC) is named in a ``SinkRefusal`` after every other user is
/// written, and its half-written keys are deleted. Errors that pass (OOM, LOADING, BUSY, READONLY, ...) fail
/// the whole write, to be retried.
///
/// ```swift
/// let sink = try RedisProfileSink(configuration: RedisConfiguration(parsing: "redis://127.0.0.1:6379/0"))
/// let processor = try FeedbackProcessor(log: log, configuration: configuration, profileSinks: [sink])
/// let profile = try sink.read(user: "user_1")
/// ```
public final class RedisProfileSink: ProfileSink {
    public let prefix: String
    public let ttl: Duration
    public let configuration: RedisConfiguration
    /// Tries of one pipeline before a connection failure is thrown.
    public let attempts: Int
    /// The pause after the first failed try (doubling after each).
    public let retryDelay: Duration
    private let connection: RedisConnection

    /// Connects (and logs in) now, so that a wrong address or password fails at once.
    public init(
        configuration: RedisConfiguration, ttl: Duration = .seconds(30 * 24 * 3600), prefix: String = "feedback",
        attempts: Int = 3, retryDelay: Duration = .milliseconds(100)
    ) throws {
        self.configuration = configuration
        self.attempts = max(1, attempts)
        self.retryDelay = retryDelay
        self.ttl = ttl
        self.prefix = prefix
        connection = try Self.retrying(configuration, attempts: self.attempts, delay: retryDelay) {
            () throws(RedisError) in try RedisConnection(configuration: configuration)
        }
    }

    public convenience init(
        host: String, port: Int, ttl: Duration = .seconds(30 * 24 * 3600), prefix: String = "feedback"
    ) throws {
        try self.init(configuration: RedisConfiguration(host: host, port: port), ttl: ttl, prefix: prefix)
    }

    func keys(_ user: String) -> (profile: String, affinity: String, clicks: String) {
        ("\(prefix):profile:\(user)", "\(prefix):affinity:\(user)", "\(prefix):clicks:\(user)")
    }

    public func write(_ profiles: [UserProfile]) throws {
        guard !profiles.isEmpty else { return }
        let seconds = String(max(1, ttl.components.seconds))
        var commands: [[String]] = []
        // Where each user's MULTI ... EXEC starts in `commands` (and so in the replies).
        var starts: [Int] = []
        starts.reserveCapacity(profiles.count + 1)
        for profile in profiles {
            let (profileKey, affinityKey, clicksKey) = keys(profile.user)
            starts.append(commands.count)
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
        starts.append(commands.count)
        let replies = try pipeline(commands)
        var refused: [SinkRefusal.Item] = []
        var passing: [String] = []
        for index in profiles.indices {
            let transaction = replies[starts[index]..<starts[index + 1]]
            let reason: String?
            do {
                reason = try Self.failure(of: transaction)
            } catch {
                connection.disconnect()  // in an unknown state
                throw error
            }
            guard let reason else { continue }
            if Self.passes(reason) {
                passing.append(reason)
            } else {
                refused.append(
                    .init(index: index, reason: "Redis refused the profile of \(profiles[index].user): \(reason)"))
            }
        }
        if let reason = passing.first {
            throw RedisError(
                kind: .reply,
                message:
                    "Redis at \(configuration.address) refused \(passing.count) profile write(s) for now: \(reason)")
        }
        guard !refused.isEmpty else { return }
        // A failed command inside EXEC does not undo the others: take the half-written profiles out.
        _ = try? connection.pipeline(
            refused.map {
                let keys = keys(profiles[$0.index].user); return ["DEL", keys.profile, keys.affinity, keys.clicks]
            })
        throw SinkRefusal(sink: "redis", items: refused)
    }

    /// Why one user's `MULTI ... EXEC` replies say it was not (wholly) written; nil if it was. Throws when the
    /// replies make no sense for a transaction (the connection is then dropped).
    private static func failure(of replies: ArraySlice<RedisReply>) throws(RedisError) -> String? {
        guard case .status("OK") = replies.first, let exec = replies.last, replies.count >= 2 else {
            throw RedisError(kind: .reply, message: "Redis answered MULTI with \(String(describing: replies.first))")
        }
        var queuedError: String?
        for reply in replies.dropFirst().dropLast() {
            switch reply {
            case .status("QUEUED"): continue
            case .error(let message): queuedError = queuedError ?? message
            default: queuedError = queuedError ?? "unexpected reply \(reply) to a queued command"
            }
        }
        switch exec {
        case .array(let results):
            for case .error(let message) in results { return message }
            return queuedError
        case .null: return queuedError ?? "EXEC returned null: the transaction was discarded"
        case .error(let message): return queuedError ?? message
        default: return queuedError ?? "unexpected reply \(exec) to EXEC"
        }
    }

    /// Errors that say "not now" rather than "never": the write is retried with the batch.
    private static func passes(_ reason: String) -> Bool {
        let transient = [
            "OOM", "LOADING", "BUSY", "READONLY", "MASTERDOWN", "TRYAGAIN", "CLUSTERDOWN", "NOREPLICAS", "MISCONF",
            "NOAUTH", "MOVED", "ASK",
        ]
        let code = reason.prefix { $0 != " " }
        return transient.contains(String(code))
    }

    /// `commands` through the connection, retried on a fresh connection after a connection failure.
    private func pipeline(_ commands: [[String]]) throws(RedisError) -> [RedisReply] {
        let connection = self.connection
        return try Self.retrying(configuration, attempts: attempts, delay: retryDelay) { () throws(RedisError) in
            try connection.pipeline(commands)
        }
    }

    private static func retrying<T>(
        _ configuration: RedisConfiguration, attempts: Int, delay: Duration, _ body: () throws(RedisError) -> T
    ) throws(RedisError) -> T {
        var pause = delay
        var attempt = 1
        while true {
            do {
                return try body()
            } catch  where error.kind == .connection && attempt < attempts {
                Thread.sleep(
                    forTimeInterval: Double(pause.components.seconds) + Double(pause.components.attoseconds) / 1e18)
                pause = pause * 2
                attempt += 1
            } catch  where error.kind == .connection {
                var reason = error.message
                for prefix in ["cannot connect to Redis at ", "lost the connection to Redis at "]
                where reason.hasPrefix(prefix + configuration.address + ": ") {
                    reason.removeFirst(prefix.count + configuration.address.count + 2)
                }
                if reason.hasSuffix("; is redis-server running?") { reason.removeLast(26) }
                throw RedisError(
                    kind: .connection,
                    message: "Redis at \(configuration.address) unreachable after \(attempts) tries: \(reason); "
                        + "is redis-server running?")
            }
        }
    }

    /// The profile of `user` as Redis holds it; nil if absent (never seen, or expired).
    public func read(user: String) throws -> UserProfile? {
        let (profileKey, affinityKey, clicksKey) = keys(user)
        let replies = try pipeline([
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
        if case .integer(let seconds) = try pipeline([["TTL", keys(user).profile]])[0] { return seconds }
        return -2
    }
}
