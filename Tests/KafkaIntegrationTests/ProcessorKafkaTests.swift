import Feedback
import FeedbackKafka
import FeedbackLog
import FeedbackProcessor
import Foundation
import Pipeline
import Synchronization
import TestSupport
import Testing

/// The processor reading Kafka through a consumer group, checked against the embedded processor (whose
/// exact outputs the unit tests pin down) on the same deterministic stream.
@Suite(.serialized) struct ProcessorKafkaTests {
    static let t0: Int64 = 1_704_067_200_000

    /// 3,000 events over 50 minutes: each request shows 5 items, some are clicked, a few bought.
    static func stream() -> [FeedbackEvent] {
        var events: [FeedbackEvent] = []
        for request in 0..<500 {
            let user = "user_\(request % 40)"
            let time = t0 + Int64(request) * 6_000
            for position in 0..<5 {
                let item = "item_\((request * 7 + position * 13) % 90)"
                let source = ["hot", "ann", "hot|ann", "personal"][(request + position) % 4]
                events.append(
                    FeedbackEvent(
                        type: .impression, itemID: item, userID: user, scene: request % 3 == 0 ? "detail" : "feed",
                        requestID: "req_\(request)", eventID: "imp_\(request)_\(position)", timestampMs: time,
                        position: position, score: Double(5 - position) / 5,
                        labels: ["recall_source": source, "recall_type": source]))
                if (request + position) % 4 == 0 {
                    events.append(
                        FeedbackEvent(
                            type: .click, itemID: item, userID: user, scene: "feed", requestID: "req_\(request)",
                            eventID: "clk_\(request)_\(position)", timestampMs: time + 2_000, position: position))
                }
            }
            if request % 10 == 0 {
                events.append(
                    FeedbackEvent(
                        type: .conversion, itemID: "item_\((request * 7) % 90)", userID: user, scene: "feed",
                        requestID: "req_\(request)", eventID: "cnv_\(request)", timestampMs: time + 3_000,
                        extras: ["amount": .double(Double(request % 7) + 0.5), "category": "books"]))
            }
        }
        return events
    }

    func configuration(_ directory: String) -> ProcessorConfiguration {
        var configuration = ProcessorConfiguration(
            storePath: directory + "/processor.sqlite", samplesDirectory: directory + "/samples")
        configuration.batchSize = 500
        return configuration
    }

    func kafkaSource(_ broker: TestBroker, topic: String, group: String) throws -> KafkaSource {
        try KafkaSource(
            brokers: [broker.address], topic: topic, group: group,
            properties: ["session.timeout.ms": "6000", "heartbeat.interval.ms": "1000"])
    }

    /// The embedded processor over the same events: the reference.
    func reference(_ events: [FeedbackEvent]) throws -> FeedbackProcessor {
        let directory = temporaryDirectory()
        let log = try LocalLog(configuration: .init(path: directory + "/events.sqlite"))
        try log.append(events.map { EncodedEvent(key: nil, payload: $0.jsonBytes()) })
        let processor = try FeedbackProcessor(log: log, configuration: configuration(directory))
        try processor.processAvailable()
        try processor.closeAllWindows()
        return processor
    }

    func publish(_ events: [FeedbackEvent], _ broker: TestBroker, topic: String) async throws {
        var kafka = KafkaConfiguration(brokers: [broker.address], topic: topic)
        kafka.flushInterval = .milliseconds(5)
        let collector = try FeedbackCollector.kafka(kafka)
        for event in events { try collector.record(event) }
        #expect(await collector.shutdown().delivered == events.count)
    }

    static func samples(_ directory: String) throws -> [String] {
        let listing = try TestEnvironment.run("/usr/bin/find", [directory + "/samples", "-name", "*.gz"])
        var lines: [String] = []
        for file in String(decoding: listing, as: UTF8.self).split(separator: "\n") {
            let text = try TestEnvironment.run("/bin/gzip", ["-dc", String(file)])
            lines += String(decoding: text, as: UTF8.self).split(separator: "\n").map(String.init)
        }
        return lines.sorted()
    }

    static func sameProfile(_ a: UserProfile?, _ b: UserProfile?) -> Bool {
        guard let a, let b else { return a == nil && b == nil }
        return a.counts == b.counts && a.recentClicks == b.recentClicks && a.lastSeenMs == b.lastSeenMs
            && a.affinity.keys == b.affinity.keys
            && a.affinity.allSatisfy { abs($0.value - b.affinity[$0.key]!) < 1e-9 }
    }

    /// A profile sink whose third write fails, as Redis going away would: that batch is rolled back.
    final class FailingThirdWriteSink: ProfileSink {
        var writes = 0
        func write(_ profiles: [UserProfile]) throws {
            writes += 1
            if writes == 3 { throw ProcessorError.storage("the sink is down") }
        }
    }

    /// Also: one batch fails on the way (a sink error) and the same processor goes on; the consumer is
    /// moved back, so the failed batch's records are read again, not skipped.
    @Test func brokerToProcessorGivesExactlyTheReferenceOutputs() async throws {
        let events = Self.stream()
        let broker = try TestBroker.get()
        let topic = try broker.createTopic("processor")
        try await publish(events, broker, topic: topic)
        let directory = temporaryDirectory()
        let processor = try FeedbackProcessor(
            source: kafkaSource(broker, topic: topic, group: "group-\(UUID().uuidString.prefix(6))"),
            configuration: configuration(directory), profileSinks: [FailingThirdWriteSink()])
        var processed = 0
        var emitted = 0
        var files: [String] = []
        var failures = 0
        let deadline = ContinuousClock.now + .seconds(60)
        while processed < events.count, ContinuousClock.now < deadline {
            let batch: ProcessorStatistics
            do { batch = try processor.processBatch(timeout: .milliseconds(500)) } catch {
                failures += 1
                continue
            }
            processed += batch.processed
            emitted += batch.samples
            files.append("\(batch.processed)/\(batch.duplicates)/\(batch.samples)")
        }
        #expect(processed == events.count && failures == 1)
        emitted += try processor.closeAllWindows()
        #expect(emitted == 2_500, "batches (processed/duplicates/samples): \(files)")
        let expected = try reference(events)
        #expect(try processor.metrics(limit: 100_000) == expected.metrics(limit: 100_000))
        for user in 0..<40 {
            #expect(
                Self.sameProfile(
                    try processor.profile(user: "user_\(user)"), try expected.profile(user: "user_\(user)")))
        }
        let samples = try Self.samples(directory)
        #expect(samples.count == 2_500)
        #expect(samples == (try Self.samples((expected.configuration.storePath as NSString).deletingLastPathComponent)))
    }

    /// Records that are not feedback events (decoded where librdkafka holds them, only theirs copied for the
    /// log) are counted as invalid; the events around them give exactly the reference's outputs.
    @Test func recordsThatAreNotEventsAreCountedAndTheRestProcessed() async throws {
        let events = Array(Self.stream().prefix(600))
        let broker = try TestBroker.get()
        let topic = try broker.createTopic("not-events", partitions: 1)
        let input = FileManager.default.temporaryDirectory.appendingPathComponent("not-events-\(UUID()).txt")
        try ["not json", #"{"type":"click"}"#, #"{"item_id":"i","type":"click","timestamp_ms":1e400}"#]
            .joined(separator: "\n").appending("\n").write(to: input, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: input) }
        let kcat = ["/usr/bin/kcat", "/usr/local/bin/kcat"].first { FileManager.default.isExecutableFile(atPath: $0) }!
        try await publish(Array(events.prefix(300)), broker, topic: topic)
        try TestEnvironment.run(kcat, ["-P", "-b", broker.address, "-t", topic, "-l", input.path])
        try await publish(Array(events.dropFirst(300)), broker, topic: topic)

        let directory = temporaryDirectory()
        let processor = try FeedbackProcessor(
            source: kafkaSource(broker, topic: topic, group: "group-\(UUID().uuidString.prefix(6))"),
            configuration: configuration(directory))
        var total = ProcessorStatistics()
        let deadline = ContinuousClock.now + .seconds(30)
        while total.processed + total.failed < events.count + 3, ContinuousClock.now < deadline {
            total.add(try processor.processBatch(timeout: .milliseconds(500)))
        }
        #expect(total.processed == events.count && total.failed == 3 && total.duplicates == 0)
        try processor.closeAllWindows()
        let expected = try reference(events)
        #expect(try processor.metrics(limit: 100_000) == expected.metrics(limit: 100_000))
        #expect(
            try Self.samples(directory)
                == Self.samples((expected.configuration.storePath as NSString).deletingLastPathComponent))
    }

    /// `join` waits for the group's assignment and puts back what it read: the processor then reads every
    /// event (the benchmark times all of them, not what was left after a first batch).
    @Test func joiningTheGroupConsumesNothing() async throws {
        let events = Array(Self.stream().prefix(600))
        let broker = try TestBroker.get()
        let topic = try broker.createTopic("join")
        try await publish(events, broker, topic: topic)
        let source = try kafkaSource(broker, topic: topic, group: "group-\(UUID().uuidString.prefix(6))")
        let processor = try FeedbackProcessor(source: source, configuration: configuration(temporaryDirectory()))
        #expect(try source.join(timeout: .seconds(15)))
        #expect(!source.assignment.isEmpty)
        var processed = 0
        let deadline = ContinuousClock.now + .seconds(30)
        while processed < events.count, ContinuousClock.now < deadline {
            processed += try processor.processBatch(timeout: .milliseconds(500)).processed
        }
        #expect(processed == events.count)
        #expect(try processor.processBatch(timeout: .milliseconds(300)).processed == 0)
    }

    @Test func twoProcessorsInOneGroupProduceTheTotalsOfOne() async throws {
        let events = Self.stream()
        let broker = try TestBroker.get()
        let topic = try broker.createTopic("group")
        let group = "pair-\(UUID().uuidString.prefix(6))"
        let directories = [temporaryDirectory(), temporaryDirectory()]
        let members = try directories.map { directory in
            Member(
                processor: try FeedbackProcessor(
                    source: kafkaSource(broker, topic: topic, group: group), configuration: configuration(directory)))
        }
        for member in members { member.start() }
        // Both join (Tansu takes about half the session timeout), then the data arrives.
        let joined = ContinuousClock.now + .seconds(30)
        while members.contains(where: { $0.assignment.isEmpty }), ContinuousClock.now < joined {
            try await Task.sleep(for: .milliseconds(100))
        }
        let assignments = members.map(\.assignment)
        #expect(assignments.allSatisfy { !$0.isEmpty } && Set(assignments.joined()).count == 4, "\(assignments)")
        try await publish(events, broker, topic: topic)
        let done = ContinuousClock.now + .seconds(60)
        while members.reduce(0, { $0 + $1.processed }) < events.count, ContinuousClock.now < done {
            try await Task.sleep(for: .milliseconds(100))
        }
        for member in members { member.stop() }
        print("two processors: processed \(members.map(\.processed)), partitions \(assignments)")
        #expect(members.reduce(0) { $0 + $1.processed } == events.count)
        #expect(members.allSatisfy { $0.processed > 0 })

        let expected = try reference(events)
        var totals: [String: MetricsWindow] = [:]
        for member in members {
            try member.processor.closeAllWindows()
            for window in try member.processor.metrics(limit: 100_000) {
                let key = "\(window.minuteMs) \(window.scene) \(window.source)"
                if var total = totals[key] {
                    total.impressions += window.impressions
                    total.clicks += window.clicks
                    total.conversions += window.conversions
                    total.revenue += window.revenue
                    totals[key] = total
                } else {
                    totals[key] = window
                }
            }
        }
        let reference = Dictionary(
            uniqueKeysWithValues: try expected.metrics(limit: 100_000).map {
                ("\($0.minuteMs) \($0.scene) \($0.source)", $0)
            })
        #expect(totals.count == reference.count)
        for (key, window) in reference {
            let total = totals[key]
            #expect(
                total?.impressions == window.impressions && total?.clicks == window.clicks
                    && total?.conversions == window.conversions && abs((total?.revenue ?? -1) - window.revenue) < 1e-9,
                "\(key)")
        }
        for user in 0..<40 {
            let owners = try members.compactMap { try $0.processor.profile(user: "user_\(user)") }
            #expect(owners.count == 1, "user_\(user) is in \(owners.count) stores")
            #expect(Self.sameProfile(owners.first, try expected.profile(user: "user_\(user)")))
        }
        let samples = try directories.flatMap { try Self.samples($0) }.sorted()
        #expect(samples == (try Self.samples((expected.configuration.storePath as NSString).deletingLastPathComponent)))
    }
}

extension ProcessorKafkaTests {
    /// `feedback process --brokers` SIGKILLed mid-stream and rerun in its group ends with the outputs of a
    /// clean run in another group.
    @Test func kafkaProcessorSIGKILLedMidStreamEndsWithTheOutputsOfACleanRun() async throws {
        let broker = try TestBroker.get()
        let topic = try broker.createTopic("process-kill")
        let producer = try FeedbackBinary(
            [
                "produce", "--brokers", broker.address, "--topic", topic, "--count", "40000", "--users", "300",
                "--flush-interval-ms", "5", "--no-spool",
            ], directory: temporaryDirectory())
        #expect(try await producer.wait() == 0)
        func process(_ group: String, _ directory: String) throws -> FeedbackBinary {
            try FeedbackBinary(
                [
                    "process", "--brokers", broker.address, "--topic", topic, "--group", group, "--window-seconds", "5",
                    "--idle-seconds", "4", "--batch-size", "2000",
                ], directory: directory)
        }
        let clean = temporaryDirectory()
        let crashed = temporaryDirectory()
        #expect(try await process("clean-\(topic)", clean).wait() == 0)
        let victim = try process("crash-\(topic)", crashed)
        let killedMidStream = victim.stop(
            when: { (5_000..<40_000).contains(ProcessorOutputs.applied(crashed)) }, slice: .milliseconds(10))
        victim.signal(SIGKILL)
        _ = try await victim.wait(timeout: .seconds(10))
        let rerun = try process("crash-\(topic)", crashed)
        #expect(try await rerun.wait() == 0)
        print("kafka processor SIGKILL: killed mid-stream \(killedMidStream), rerun \(rerun.stdout)")
        #expect(killedMidStream)
        let cleanOutputs = try await ProcessorOutputs.read(clean)
        #expect(cleanOutputs.samples.count > 15_000 && ProcessorOutputs.applied(clean) == 40_000)
        #expect(cleanOutputs == (try await ProcessorOutputs.read(crashed)))
    }
}

/// A processor looping on its own thread (its consumer's poll blocks).
final class Member: @unchecked Sendable {
    // @unchecked Sendable: `processor` is used only by the member's thread until stop() has joined it.
    let processor: FeedbackProcessor
    private let running = Atomic<Bool>(true)
    private let count = Atomic<Int>(0)
    private let partitions = Mutex<[Int32]>([])
    private let finished = DispatchSemaphore(value: 0)

    init(processor: FeedbackProcessor) { self.processor = processor }

    var processed: Int { count.load(ordering: .relaxed) }
    var assignment: [Int32] { partitions.withLock { $0 } }

    func start() {
        Thread { [self] in
            while running.load(ordering: .relaxed) {
                if let statistics = try? processor.processBatch(timeout: .milliseconds(200)) {
                    count.add(statistics.processed, ordering: .relaxed)
                }
                let assigned = processor.sourceAssignment
                partitions.withLock { $0 = assigned }
            }
            finished.signal()
        }.start()
    }

    func stop() {
        running.store(false, ordering: .relaxed)
        finished.wait()
    }
}
