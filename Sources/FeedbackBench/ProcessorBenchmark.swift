import Feedback
import FeedbackKafka
import FeedbackProcessor
import Foundation
import Kafka
import SyntheticFeedback

/// Processor throughput: events per second from a Kafka topic into profiles, metrics and samples, beside
/// kcat consuming the same topic (reading only). Like the throughput rows, `rounds` alternating pairs of
/// runs (kcat first, then ours first, ...), reported as medians: kcat consuming alone moved from 0.79 to
/// 1.17M events/s between runs on the same machine, and one pair gave a ratio anywhere within ±20 %.
public struct ProcessorBenchmark: Sendable {
    public let events: Int
    public let rounds: Int
    /// Every this-many-th record is hostile (a wrong type, not JSON, nested too deep, a NUL in an id, a time
    /// far ahead; in turn) instead of an event; 0: none. Rates then count every record read.
    public let hostileEvery: Int
    private let topic: String

    public init(events: Int, rounds: Int = 1, hostileEvery: Int = 0) {
        self.events = events
        self.rounds = max(1, rounds)
        self.hostileEvery = hostileEvery
        topic = hostileEvery > 0 ? "processor-hostile" : "processor"
    }

    /// The hostile records mixed in, in turn.
    static let hostile: [String] = [
        #"{"item_id":"A","type":"click","user_id":"u1","timestamp_ms":"soon"}"#,
        "not json at all",
        #"{"item_id":"A","type":"click","user_id":"u1","timestamp_ms":1704067200000,"extras":{"x":"#
            + String(repeating: "[", count: 40) + "}}",
        #"{"item_id":"A","type":"click","user_id":"alice\u0000x","timestamp_ms":1704067200000}"#,
        #"{"item_id":"A","type":"click","user_id":"u1","timestamp_ms":253402300000000}"#,
    ]

    /// The topic as raw records: events, every `hostileEvery`-th replaced by a hostile record.
    private func publishMixed(broker: LocalBroker) throws {
        let producer = try AcknowledgedProducer(
            topic: topic, properties: ["bootstrap.servers": broker.address, "acks": "1", "linger.ms": "5"])
        defer { producer.close() }
        var chunk: [(key: [UInt8]?, value: [UInt8])] = []
        for index in 0..<events {
            let event = SyntheticEvents.event(index)
            let payload =
                index % hostileEvery == hostileEvery - 1
                ? Array(Self.hostile[(index / hostileEvery) % Self.hostile.count].utf8) : event.jsonBytes()
            chunk.append((Array(event.userID.utf8), payload))
            if chunk.count == 10_000 {
                try producer.send(chunk, timeout: .seconds(60))
                chunk.removeAll(keepingCapacity: true)
            }
        }
        try producer.send(chunk, timeout: .seconds(60))
    }

    public func run(broker: LocalBroker, kcat: String, directory: String) async throws -> BenchReport.Throughput {
        try broker.createTopic(topic)
        if hostileEvery > 0 {
            try publishMixed(broker: broker)
            return try measure(broker: broker, kcat: kcat, directory: directory)
        }
        var configuration = KafkaConfiguration(brokers: [broker.address], topic: topic)
        configuration.flushInterval = .milliseconds(5)
        configuration.batchSize = 10_000
        let collector = try FeedbackCollector.kafka(configuration, collector: .init(capacity: 200_000))
        for index in 0..<events {
            if index & 1023 == 0 {
                while collector.bufferedEvents > 100_000 { try await Task.sleep(for: .microseconds(100)) }
            }
            try? collector.record(SyntheticEvents.event(index))
        }
        guard await collector.shutdown(timeout: .seconds(120)).delivered == events else {
            throw ProcessFailure(description: "processor bench: could not publish \(events) events")
        }
        return try measure(broker: broker, kcat: kcat, directory: directory)
    }

    /// `rounds` alternating pairs over the published topic.
    private func measure(broker: LocalBroker, kcat: String, directory: String) throws -> BenchReport.Throughput {
        var (ours, theirs): ([ThroughputBenchmark.Measurement], [Double]) = ([], [])
        for round in 0..<rounds {
            if round % 2 == 0 {
                theirs.append(try kcatRate(broker: broker, kcat: kcat))
                ours.append(try processorRun(broker: broker, directory: directory + "/round-\(round)"))
            } else {
                ours.append(try processorRun(broker: broker, directory: directory + "/round-\(round)"))
                theirs.append(try kcatRate(broker: broker, kcat: kcat))
            }
        }
        let ratios = zip(ours, theirs).map { $0.rate / $1 }
        var result = BenchReport.Throughput(
            ours: BenchReport.Throughput.median(ours.map(\.rate)), kcat: BenchReport.Throughput.median(theirs),
            ratio: BenchReport.Throughput.median(ratios),
            oursCpuUs: BenchReport.Throughput.median(ours.map(\.cpuMicroseconds)))
        result.ratios = ratios.count > 1 ? ratios : nil
        return result
    }

    /// kcat reading the whole topic from the beginning, events per second.
    private func kcatRate(broker: LocalBroker, kcat: String) throws -> Double {
        let start = ContinuousClock.now
        try Shell.run(
            kcat,
            [
                "-C", "-b", broker.address, "-t", topic, "-o", "beginning", "-e", "-q", "-c", "\(events)", "-f",
                "%o\n",
            ])
        return Double(events) / (ContinuousClock.now - start).seconds
    }

    /// A processor in a group of its own, with a store and samples of its own, over the whole topic: events
    /// per second and CPU per event (this process's).
    private func processorRun(broker: LocalBroker, directory: String) throws -> ThroughputBenchmark.Measurement {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var processorConfiguration = ProcessorConfiguration(
            storePath: directory + "/processor.sqlite", samplesDirectory: directory + "/samples")
        processorConfiguration.attributionWindow = .seconds(60)
        let source = try KafkaSource(
            brokers: [broker.address], topic: topic, group: "bench-\(UUID().uuidString.prefix(6))",
            properties: ["session.timeout.ms": "6000", "heartbeat.interval.ms": "1000"])
        // Closed before the next run, so that no consumer of this round keeps fetching beside it.
        defer { source.close() }
        let processor = try FeedbackProcessor(source: source, configuration: processorConfiguration)
        // Join the group before the clock starts (Tansu takes about half the session timeout), consuming
        // nothing: a first `processBatch` to join processed a whole batch (half the events) off the clock.
        guard try source.join(timeout: .seconds(15)) else {
            throw ProcessFailure(description: "processor bench: no partitions assigned within 15 s")
        }
        let start = ContinuousClock.now
        let cpuStart = CPUTime.ofThisProcess()
        let deadline = start + .seconds(600)
        var processed = 0
        while processed < events, ContinuousClock.now < deadline {
            let batch = try processor.processBatch(timeout: .seconds(2))
            processed += batch.processed + batch.failed + batch.duplicates
        }
        let rate = Double(processed) / (ContinuousClock.now - start).seconds
        let cpu = (CPUTime.ofThisProcess() - cpuStart) * 1e6 / Double(max(processed, 1))
        withExtendedLifetime(processor) {}
        return .init(rate: rate, cpuMicroseconds: cpu)
    }
}
