import Feedback
import FeedbackKafka
import FeedbackProcessor
import Foundation

/// Processor throughput: events per second from a Kafka topic into profiles, metrics and samples, beside
/// kcat consuming the same topic (reading only).
public struct ProcessorBenchmark: Sendable {
    public let events: Int

    public init(events: Int) { self.events = events }

    public func run(broker: LocalBroker, kcat: String, directory: String) async throws -> BenchReport.Throughput {
        try broker.createTopic("processor")
        var configuration = KafkaConfiguration(brokers: [broker.address], topic: "processor")
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

        var start = ContinuousClock.now
        try Shell.run(
            kcat,
            [
                "-C", "-b", broker.address, "-t", "processor", "-o", "beginning", "-e", "-q", "-c", "\(events)", "-f",
                "%o\n",
            ])
        let kcatRate = Double(events) / (ContinuousClock.now - start).seconds

        var processorConfiguration = ProcessorConfiguration(
            storePath: directory + "/processor.sqlite", samplesDirectory: directory + "/samples")
        processorConfiguration.attributionWindow = .seconds(60)
        let source = try KafkaSource(
            brokers: [broker.address], topic: "processor", group: "bench-\(UUID().uuidString.prefix(6))",
            properties: ["session.timeout.ms": "6000", "heartbeat.interval.ms": "1000"])
        let processor = try FeedbackProcessor(source: source, configuration: processorConfiguration)
        // Join the group before the clock starts (Tansu takes about half the session timeout), consuming
        // nothing: a first `processBatch` to join processed a whole batch (half the events) off the clock.
        guard try source.join(timeout: .seconds(15)) else {
            throw ProcessFailure(description: "processor bench: no partitions assigned within 15 s")
        }
        start = ContinuousClock.now
        let cpuStart = CPUTime.ofThisProcess()
        let deadline = start + .seconds(600)
        var processed = 0
        while processed < events, ContinuousClock.now < deadline {
            processed += try processor.processBatch(timeout: .seconds(2)).processed
        }
        let ours = Double(processed) / (ContinuousClock.now - start).seconds
        let cpu = (CPUTime.ofThisProcess() - cpuStart) * 1e6 / Double(max(processed, 1))
        return .init(ours: ours, kcat: kcatRate, ratio: ours / kcatRate, oursCpuUs: cpu)
    }
}
