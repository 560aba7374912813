import Feedback
import FeedbackBench
import FeedbackLog
import FeedbackProcessor
import FeedbackProcessorClickHouse
import FeedbackProcessorRedis
import Foundation
import Synchronization
import TestSupport
import Testing

/// A real redis-server on a free 127.0.0.1 port: in memory only, or with `dataDirectory` an append-only file
/// synced at every write (a kill -9 then loses nothing acknowledged); with `password`, `requirepass`.
final class TestRedis: Sendable {
    let port: Int
    let password: String?
    let dataDirectory: String?
    private let process = Mutex<SupervisedProcess?>(nil)

    init(password: String? = nil, dataDirectory: String? = nil) throws {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/redis-server") else {
            throw TestEnvironment.Failure(description: "redis-server is not installed: run scripts/install-deps.sh")
        }
        port = try SupervisedProcess.freePort()
        self.password = password
        self.dataDirectory = dataDirectory
        try start()
    }

    func start() throws {
        var arguments = ["--port", String(port), "--bind", "127.0.0.1", "--save", ""]
        if let dataDirectory {
            arguments += ["--dir", dataDirectory, "--appendonly", "yes", "--appendfsync", "always"]
        } else {
            arguments += ["--appendonly", "no"]
        }
        if let password { arguments += ["--requirepass", password] }
        let started = try SupervisedProcess(
            name: "redis", executable: "/usr/bin/redis-server", arguments: arguments, port: port)
        process.withLock { $0 = started }
    }

    /// SIGKILLs the server (no shutdown, no last save).
    func kill() {
        let running = process.withLock { process in
            defer { process = nil }
            return process
        }
        running?.kill()
    }

    deinit { kill() }
}

@Suite(.serialized) struct RedisSinkTests {
    func processor(_ directory: String, sink: RedisProfileSink) throws -> (FeedbackProcessor, LocalLog) {
        let log = try LocalLog(configuration: .init(path: directory + "/events.sqlite"))
        var configuration = ProcessorConfiguration(
            storePath: directory + "/processor.sqlite", samplesDirectory: directory + "/samples")
        configuration.batchSize = 500
        return (try FeedbackProcessor(log: log, configuration: configuration, profileSinks: [sink]), log)
    }

    @Test func redisHoldsExactlyTheProfilesOfTheStoreWithATTL() throws {
        let redis = try TestRedis()
        let sink = try RedisProfileSink(host: "127.0.0.1", port: redis.port)
        let (processor, log) = try processor(temporaryDirectory(), sink: sink)
        try log.append(ProcessorKafkaTests.stream().map { EncodedEvent(key: nil, payload: $0.jsonBytes()) })
        let statistics = try processor.processAvailable()
        #expect(statistics.processed == ProcessorKafkaTests.stream().count)
        for user in (0..<40).map({ "user_\($0)" }) {
            let stored = try processor.profile(user: user)
            let published = try sink.read(user: user)
            #expect(ProcessorKafkaTests.sameProfile(stored, published), "\(user)")
            let ttl = try sink.timeToLive(user: user)
            #expect(ttl > 29 * 24 * 3600 && ttl <= 30 * 24 * 3600)
        }
        #expect(try sink.read(user: "nobody") == nil)
    }

    @Test func aRedisOutageRollsTheBatchBackAndNothingIsSkipped() throws {
        let redis = try TestRedis()
        let sink = try RedisProfileSink(host: "127.0.0.1", port: redis.port)
        let (processor, log) = try processor(temporaryDirectory(), sink: sink)
        let events = ProcessorKafkaTests.stream()
        try log.append(events.prefix(1000).map { EncodedEvent(key: nil, payload: $0.jsonBytes()) })
        try processor.processAvailable()
        let before = processor.offset
        #expect(before == 1000)
        redis.kill()
        try log.append(events.dropFirst(1000).map { EncodedEvent(key: nil, payload: $0.jsonBytes()) })
        #expect(throws: (any Error).self) { try processor.processBatch() }
        #expect(processor.offset == before, "the failed batch must not be committed")
        try redis.start()
        // A new connection (the old one died with the server), same store: it resumes after the last good batch.
        let (resumed, _) = try self.processor(
            (processor.configuration.storePath as NSString).deletingLastPathComponent,
            sink: RedisProfileSink(host: "127.0.0.1", port: redis.port))
        let statistics = try resumed.processAvailable()
        #expect(statistics.processed == events.count - 1000 && resumed.offset == Int64(events.count))
    }
}
