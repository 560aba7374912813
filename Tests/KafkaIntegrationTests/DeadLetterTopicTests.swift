import Feedback
import FeedbackKafka
import FeedbackProcessor
import Foundation
import TestSupport
import Testing

/// With Kafka, every refused record also goes to a dead-letter topic (before its batch commits), as the line
/// `feedback failed list --json` prints; corrected, it is re-driven into the topic and processed once.
@Suite(.serialized) struct DeadLetterTopicTests {
    static let t0: Int64 = 1_704_067_200_000
    let kcat = ["/usr/bin/kcat", "/usr/local/bin/kcat"].first { FileManager.default.isExecutableFile(atPath: $0) }!

    func events(_ count: Int) -> [FeedbackEvent] {
        (0..<count).map { index in
            FeedbackEvent(
                type: index % 3 == 0 ? .click : .impression, itemID: "item_\(index % 7)", userID: "user_\(index % 5)",
                requestID: "req_\(index / 3)", eventID: "evt_\(index)", timestampMs: Self.t0 + Int64(index) * 1000)
        }
    }

    let group = "dlq-\(UUID().uuidString.prefix(6))"

    func process(_ topic: String, _ broker: TestBroker, _ directory: String, expecting count: Int) throws
        -> (ProcessorStatistics, FeedbackProcessor)
    {
        let source = try KafkaSource(
            brokers: [broker.address], topic: topic, group: group,
            properties: ["session.timeout.ms": "6000", "heartbeat.interval.ms": "1000"])
        defer { source.close() }
        let deadLetters = try DeadLetterTopic(
            topic: topic + ".failed", properties: ["bootstrap.servers": broker.address])
        var configuration = ProcessorConfiguration(
            storePath: directory + "/processor.sqlite", samplesDirectory: directory + "/samples")
        configuration.batchSize = 100
        let processor = try FeedbackProcessor(source: source, configuration: configuration, failedSinks: [deadLetters])
        var total = ProcessorStatistics()
        let deadline = ContinuousClock.now + .seconds(40)
        while total.processed + total.failed + total.duplicates < count, ContinuousClock.now < deadline {
            total.add(try processor.processBatch(timeout: .milliseconds(500)))
        }
        return (total, processor)
    }

    func deadLetters(_ topic: String, _ broker: TestBroker, count: Int) throws -> [FailedRecord.Line] {
        let output = try TestEnvironment.run(
            kcat,
            ["-C", "-b", broker.address, "-t", topic + ".failed", "-o", "beginning", "-c", "\(count)", "-e", "-q"],
            timeout: .seconds(30))
        // Keyed by place, spread over the (auto-created) topic's partitions: in offset order here.
        return try String(decoding: output, as: UTF8.self).split(separator: "\n").map {
            try JSONDecoder().decode(FailedRecord.Line.self, from: Data($0.utf8))
        }.sorted { $0.offset < $1.offset }
    }

    @Test func refusedRecordsReachTheDeadLetterTopicAndARedriveIsProcessedOnce() async throws {
        let broker = try TestBroker.get()
        let topic = try broker.createTopic("dead-letters", partitions: 1)
        let good = events(200)
        let hostile = [
            #"{"item_id":"item_1","type":"click","user_id":"user_1","timestamp_ms":"soon","event_id":"bad_1"}"#,
            "not json",
        ]
        var kafka = KafkaConfiguration(brokers: [broker.address], topic: topic)
        kafka.flushInterval = .milliseconds(5)
        let collector = try FeedbackCollector.kafka(kafka)
        for event in good.prefix(100) { try collector.record(event) }
        #expect(await collector.shutdown(timeout: .seconds(30)).delivered == 100)
        let input = temporaryPath("hostile") + ".txt"
        try (hostile.joined(separator: "\n") + "\n").write(toFile: input, atomically: true, encoding: .utf8)
        try TestEnvironment.run(kcat, ["-P", "-b", broker.address, "-t", topic, "-l", input])
        let rest = try FeedbackCollector.kafka(kafka)
        for event in good.dropFirst(100) { try rest.record(event) }
        #expect(await rest.shutdown(timeout: .seconds(30)).delivered == 100)

        let directory = temporaryDirectory()
        let (first, _) = try process(topic, broker, directory, expecting: 202)
        #expect(first.processed == 200 && first.failed == 2 && first.duplicates == 0, "\(first)")
        let lines = try deadLetters(topic, broker, count: 2)
        #expect(lines.map(\.offset) == [100, 101])
        #expect(lines.map(\.kind) == ["wrong_type", "not_json"])
        #expect(lines[0].record == hostile[0] && lines[0].source == "kafka:\(topic)" && lines[0].whole)

        // The sender's bug fixed: the corrected record goes back into the topic; the store forgets it.
        var fixed = lines[0]
        fixed.record = hostile[0].replacingOccurrences(of: #""soon""#, with: "\(Self.t0 + 500_000)")
        let corrected = temporaryPath("corrected") + ".jsonl"
        try String(decoding: try JSONEncoder().encode(fixed), as: UTF8.self).appending("\n").write(
            toFile: corrected, atomically: true, encoding: .utf8)
        let redrive = try FeedbackBinary(
            [
                "failed", "redrive", "--input", corrected, "--brokers", broker.address, "--topic", topic,
                "--store", directory + "/processor.sqlite",
            ], directory: directory)
        #expect(try await redrive.wait(timeout: .seconds(60)) == 0, "\(redrive.stderr)")
        #expect(redrive.stdout.contains(#"{"redriven":1,"refused":0}"#), "\(redrive.stdout) \(redrive.stderr)")

        let (second, reader) = try process(topic, broker, directory, expecting: 1)
        #expect(second.processed == 1 && second.failed == 0, "\(second)")
        #expect(try reader.failedRecords().map(\.offset) == [101])
        let clicks = good.filter { $0.userID == "user_1" && $0.type == .click }.count
        #expect(try reader.profile(user: "user_1")?.counts["click"] == clicks + 1)
    }
}
