import Feedback
import FeedbackBench
import FeedbackLog
import FeedbackProcessor
import FeedbackProcessorRedis
import Foundation
import Synchronization
import TestSupport
import Testing

/// The Redis sink against a hostile server: addresses and passwords, a login it refuses, users it refuses,
/// errors that pass, and a server SIGKILLed and restarted under a running processor service.
@Suite(.serialized) struct RedisFaultTests {
    static let events = ProcessorKafkaTests.stream()
    static let users = (0..<40).map { "user_\($0)" }

    func processor(_ directory: String, sinks: [any ProfileSink], batchSize: Int = 500) throws -> FeedbackProcessor {
        let log = try LocalLog(configuration: .init(path: directory + "/events.sqlite"))
        try log.append(Self.events.map { EncodedEvent(key: nil, payload: $0.jsonBytes()) })
        var configuration = ProcessorConfiguration(
            storePath: directory + "/processor.sqlite", samplesDirectory: directory + "/samples")
        configuration.batchSize = batchSize
        return try FeedbackProcessor(log: log, configuration: configuration, profileSinks: sinks)
    }

    func failure(_ body: () throws -> Void) -> RedisError? {
        do {
            try body()
            return nil
        } catch let error as RedisError {
            return error
        } catch {
            Issue.record("not a RedisError: \(error)")
            return nil
        }
    }

    @Test func addressesAreReadAndPasswordsNeverShown() throws {
        let plain = try RedisConfiguration(parsing: "127.0.0.1:6380")
        #expect(plain.host == "127.0.0.1" && plain.port == 6380 && plain.database == 0 && plain.password == nil)
        #expect(plain.description == "redis://127.0.0.1:6380/0")

        let full = try RedisConfiguration(parsing: "redis://app:p%40ss:w0rd@cache.internal:6390/3")
        #expect(full.user == "app" && full.password == "p@ss:w0rd" && full.host == "cache.internal")
        #expect(full.port == 6390 && full.database == 3)
        #expect(full.description == "redis://app:***@cache.internal:6390/3")

        let defaults = try RedisConfiguration(parsing: "redis://:secret@cache")
        #expect(defaults.port == 6379 && defaults.user == nil && defaults.password == "secret")
        #expect(!defaults.description.contains("secret"))

        let environment = [RedisConfiguration.passwordVariable: "from-env", RedisConfiguration.userVariable: "bob"]
        let fromEnvironment = try RedisConfiguration(parsing: "redis://cache:7000/2", environment: environment)
        #expect(
            fromEnvironment.password == "from-env" && fromEnvironment.user == "bob" && fromEnvironment.database == 2)
        #expect(try RedisConfiguration(parsing: "cache:7000", environment: environment).password == "from-env")
        #expect(
            try RedisConfiguration(parsing: "redis://:url-wins@cache", environment: environment).password == "url-wins")

        let v6 = try RedisConfiguration(parsing: "[::1]:6379")
        #expect(v6.host == "::1" && v6.address == "[::1]:6379")

        let bad: [(text: String, says: String)] = [
            ("redis://:hunter2@cache:99999/0", "port"),
            ("redis://:hunter2@cache:6379/x", "database"),
            ("redis://hunter2@cache:6379", "user:password@"),
            ("redis://:hunter2@:6379", "no host"),
            ("rediss://:hunter2@cache:6380", "TLS"),
            ("http://:hunter2@cache:80", "scheme"),
            ("hunter2@cache:6379", "redis://"),
            ("cache", "no port"),
            ("::1:6379", "brackets"),
        ]
        for (text, says) in bad {
            do {
                _ = try RedisConfiguration(parsing: text)
                Issue.record("\(text) was accepted")
            } catch {
                #expect(error.kind == .configuration)
                #expect(error.message.contains(says), "\(error.message)")
                #expect(!error.message.contains("hunter2"), "\(error.message)")
                #expect(error.message.contains("redis://[user:password@]host:port") || says == "TLS")
            }
        }
    }

    @Test func aPasswordAndADatabaseAreUsedOnEveryConnect() throws {
        let redis = try TestRedis(password: "s3cret-pw")
        let environment = [RedisConfiguration.passwordVariable: "s3cret-pw"]
        let configuration = try RedisConfiguration(
            parsing: "redis://127.0.0.1:\(redis.port)/3", environment: environment)
        let sink = try RedisProfileSink(configuration: configuration)
        let processor = try processor(temporaryDirectory(), sinks: [sink])
        #expect(try processor.processAvailable().processed == Self.events.count)
        for user in Self.users {
            #expect(ProcessorKafkaTests.sameProfile(try processor.profile(user: user), try sink.read(user: user)))
        }
        let admin = try RedisConnection(
            configuration: RedisConfiguration(host: "127.0.0.1", port: redis.port, password: "s3cret-pw"))
        #expect(
            try admin.pipeline([["DBSIZE"], ["SELECT", "3"], ["DBSIZE"]]) == [
                .integer(0), .status("OK"), .integer(120),
            ])

        // The server restarts (empty): the next write connects again, logs in and selects db 3 again.
        redis.kill()
        try redis.start()
        try sink.write([UserProfile(user: "late", counts: ["click": 1], recentClicks: [], affinity: [:], lastSeenMs: 1)]
        )
        #expect(try sink.read(user: "late")?.counts == ["click": 1])
        let again = try RedisConnection(
            configuration: RedisConfiguration(host: "127.0.0.1", port: redis.port, password: "s3cret-pw", database: 3))
        #expect(try again.pipeline([["DBSIZE"]]) == [.integer(1)])

        let wrong = failure {
            _ = try RedisProfileSink(
                configuration: RedisConfiguration(parsing: "redis://:not-the-pw@127.0.0.1:\(redis.port)"))
        }
        #expect(wrong?.kind == .authentication)
        #expect(
            wrong?.message.contains("WRONGPASS") == true && wrong?.message.contains("FEEDBACK_REDIS_PASSWORD") == true)
        #expect(wrong?.message.contains("not-the-pw") == false)
        let missing = failure {
            _ = try RedisProfileSink(configuration: RedisConfiguration(parsing: "127.0.0.1:\(redis.port)"))
        }
        #expect(missing?.kind == .authentication && missing?.message.contains("needs a password") == true)
        let noDatabase = failure {
            _ = try RedisProfileSink(
                configuration: RedisConfiguration(parsing: "redis://:s3cret-pw@127.0.0.1:\(redis.port)/99"))
        }
        #expect(noDatabase?.kind == .configuration && noDatabase?.message.contains("SELECT 99") == true)
        #expect(noDatabase?.message.contains("s3cret-pw") == false)
    }

    @Test func nobodyListeningIsAClearRetryableErrorSoon() throws {
        let port = try SupervisedProcess.freePort()
        let started = ContinuousClock.now
        let error = failure { _ = try RedisProfileSink(host: "127.0.0.1", port: port) }
        #expect(error?.kind == .connection)
        #expect(error?.message.contains("Redis at 127.0.0.1:\(port) unreachable after 3 tries") == true)
        #expect(error?.message.contains("is redis-server running?") == true)
        #expect(ContinuousClock.now - started < .seconds(5))
    }

    @Test func aBigPipelineOnAConnectionTheServerDroppedNeitherCrashesNorLosesTheWrite() throws {
        let redis = try TestRedis()
        let sink = try RedisProfileSink(host: "127.0.0.1", port: redis.port)
        redis.kill()
        try redis.start()
        // Megabytes on a socket whose peer is gone: a write fails with EPIPE (SIGPIPE blocked, the process lives)
        // or the read sees the close; either way the write is sent again on a fresh connection.
        let clicks = (0..<200).map { "item_with_a_long_name_\($0)" }
        let profiles = (0..<2_000).map {
            UserProfile(
                user: "big_\($0)", counts: ["click": $0], recentClicks: clicks, affinity: ["hot": 1], lastSeenMs: 9)
        }
        try sink.write(profiles)
        #expect(try sink.read(user: "big_1999") == profiles[1999])
    }

    @Test func aServerThatNeverAnswersTimesOutInsteadOfHanging() throws {
        // A socket that listens but never accepts: the connect succeeds (the kernel's backlog), no reply comes.
        let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(listener) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let listening = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(listener, $0, length) == 0 && listen(listener, 16) == 0 && getsockname(listener, $0, &length) == 0
            }
        }
        #expect(listening)
        let port = Int(UInt16(bigEndian: address.sin_port))
        var configuration = RedisConfiguration(host: "127.0.0.1", port: port)
        configuration.commandTimeout = .milliseconds(200)
        let started = ContinuousClock.now
        let error = failure { _ = try RedisProfileSink(configuration: configuration) }
        #expect(error?.kind == .connection)
        #expect(error?.message.contains("no reply within") == true, "\(String(describing: error))")
        #expect(error?.message.contains("unreachable after 3 tries") == true)
        #expect(ContinuousClock.now - started < .seconds(3))
    }

    @Test func aUserRedisRefusesIsAFailedRecordAndEveryOtherUserIsWritten() throws {
        let redis = try TestRedis()
        // An ACL user that may write every key but user_7's: its commands are refused when queued (NOPERM),
        // so its EXEC is aborted (EXECABORT) — a refusal for good.
        let admin = try RedisConnection(host: "127.0.0.1", port: redis.port)
        #expect(
            try admin.pipeline([["ACL", "SETUSER", "writer", "on", ">writer-pw", "~feedback:*:user_[^7]*", "+@all"]])
                == [.status("OK")])
        let sink = try RedisProfileSink(
            configuration: RedisConfiguration(parsing: "redis://writer:writer-pw@127.0.0.1:\(redis.port)"))
        let processor = try processor(temporaryDirectory(), sinks: [sink])
        let statistics = try processor.processAvailable()
        #expect(statistics.processed == Self.events.count)
        #expect(processor.offset == Int64(Self.events.count), "every batch committed")
        let failed = try processor.failedRecords(limit: 1000)
        #expect(!failed.isEmpty)
        for record in failed {
            #expect(record.source == "sink:redis" && record.partition == -1 && record.kind == "sink_refused")
            #expect(record.reason.contains("user_7") && record.reason.contains("NOPERM"), "\(record.reason)")
            let profile = try JSONDecoder().decode(UserProfile.self, from: Data(record.payload))
            #expect(profile.user == "user_7")
        }
        for user in Self.users where user != "user_7" {
            #expect(
                ProcessorKafkaTests.sameProfile(try processor.profile(user: user), try sink.read(user: user)), "\(user)"
            )
        }
        #expect(try sink.read(user: "user_7") == nil)
    }

    @Test func anErrorInsideExecRefusesThatUserOnlyAndAPassingErrorRetries() throws {
        let redis = try TestRedis()
        let sink = try RedisProfileSink(host: "127.0.0.1", port: redis.port)
        func profile(_ user: String, score: Double) -> UserProfile {
            UserProfile(user: user, counts: ["click": 2], recentClicks: ["i1"], affinity: ["hot": score], lastSeenMs: 5)
        }
        // ZADD's NaN score is refused when EXEC runs it, after the DEL and HSET before it ran.
        let good = [profile("a", score: 1.5), profile("b", score: .nan), profile("c", score: 0.25)]
        do {
            try sink.write(good)
            Issue.record("NaN was written")
        } catch let refusal as SinkRefusal {
            #expect(refusal.sink == "redis" && refusal.items.map(\.index) == [1])
            #expect(refusal.items[0].reason.contains("not a valid float"), "\(refusal)")
        }
        #expect(try sink.read(user: "a") == good[0] && sink.read(user: "c") == good[2])
        #expect(try sink.read(user: "b") == nil, "the half-written profile is taken out")

        // Out of memory is not for good: the whole write fails (retried with the batch), and passes later.
        let admin = try RedisConnection(host: "127.0.0.1", port: redis.port)
        _ = try admin.pipeline([
            ["CONFIG", "SET", "maxmemory-policy", "noeviction"], ["CONFIG", "SET", "maxmemory", "1"],
        ])
        let full = failure { try sink.write([profile("d", score: 1)]) }
        #expect(full?.kind == .reply && full?.message.contains("OOM") == true, "\(String(describing: full))")
        _ = try admin.pipeline([["CONFIG", "SET", "maxmemory", "0"]])
        try sink.write([profile("d", score: 1)])
        #expect(try sink.read(user: "d") == profile("d", score: 1))
    }

    /// Kills the server (kill -9) at its `killAt`-th write and starts it again `downFor` later, on another thread.
    final class KillingSink: ProfileSink {
        let inner: RedisProfileSink
        let redis: TestRedis
        let killAt: Set<Int>
        let downFor: Duration
        let failures: Counter
        var writes = 0

        init(_ inner: RedisProfileSink, redis: TestRedis, killAt: Set<Int>, downFor: Duration, failures: Counter) {
            (self.inner, self.redis, self.killAt, self.downFor) = (inner, redis, killAt, downFor)
            self.failures = failures
        }

        func write(_ profiles: [UserProfile]) throws {
            writes += 1
            if killAt.contains(writes) {
                redis.kill()
                let (redis, downFor) = (redis, downFor)
                Thread.detachNewThread {
                    Thread.sleep(
                        forTimeInterval: Double(downFor.components.seconds) + Double(downFor.components.attoseconds)
                            / 1e18)
                    try? redis.start()
                }
            }
            do {
                try inner.write(profiles)
            } catch {
                failures.value.add(1, ordering: .relaxed)
                throw error
            }
        }
    }

    @Test func aServerKilledAndRestartedUnderTheServiceEndsWithTheProfilesOfAFaultFreeRun() async throws {
        // The fault-free run.
        let clean = try TestRedis()
        let cleanSink = try RedisProfileSink(host: "127.0.0.1", port: clean.port)
        let reference = try processor(temporaryDirectory(), sinks: [cleanSink], batchSize: 200)
        #expect(try reference.processAvailable().processed == Self.events.count)
        var expected: [String: UserProfile] = [:]
        for user in Self.users { expected[user] = try cleanSink.read(user: user) }
        #expect(expected.count == Self.users.count)

        // The same events through a ProcessorService while the server is SIGKILLed twice (durable: every
        // acknowledged write is in its append-only file) and comes back after 0.8 s.
        let directory = temporaryDirectory()
        try FileManager.default.createDirectory(atPath: directory + "/redis", withIntermediateDirectories: true)
        let redis = try TestRedis(dataDirectory: directory + "/redis")
        let failures = Counter()
        let service = try makeService(directory, redis: redis, failures: failures)
        let task = Task { try await service.run() }
        let deadline = ContinuousClock.now + .seconds(90)
        while try service.withProcessor({ $0.offset }) < Int64(Self.events.count), ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(50))
        }
        task.cancel()
        try await task.value
        #expect(try service.withProcessor { $0.offset } == Int64(Self.events.count))
        #expect(failures.value.load(ordering: .relaxed) >= 2, "the kills failed some writes")
        let statistics = service.statistics
        #expect(statistics.processed == Self.events.count && statistics.duplicates == 0 && statistics.failed == 0)
        #expect(try service.withProcessor { (processor) throws(ProcessorError) in try processor.failedCount() } == 0)

        let check = try RedisProfileSink(host: "127.0.0.1", port: redis.port)
        for user in Self.users {
            #expect(ProcessorKafkaTests.sameProfile(try check.read(user: user), expected[user]), "\(user)")
        }
    }

    final class Counter: Sendable {
        let value = Atomic<Int>(0)
    }

    func makeService(_ directory: String, redis: TestRedis, failures: Counter) throws -> ProcessorService {
        let sink = KillingSink(
            try RedisProfileSink(host: "127.0.0.1", port: redis.port), redis: redis, killAt: [3, 9],
            downFor: .milliseconds(800), failures: failures)
        let processor = try processor(directory, sinks: [sink], batchSize: 200)
        return ProcessorService(
            processor: processor, pollTimeout: .milliseconds(20), retryDelay: .milliseconds(100),
            idleDelay: .milliseconds(20))
    }
}
