import ArgumentParser
import Feedback
import FeedbackKafka
import FeedbackLog
import Foundation
import Logging
import Metrics
import Prometheus

/// The Kafka producer: which brokers and topic, and how events are batched, compressed and acknowledged
/// (produce, demo and spool replay).
struct KafkaOptions: ParsableArguments {
    @Option(
        help: "Kafka bootstrap servers, comma-separated. Without them, produce and demo write the embedded local log.")
    var brokers: String = ""

    @Option(help: "Kafka topic.")
    var topic: String = "feedback-topic"

    @Option(help: "none, gzip, snappy, lz4 or zstd.")
    var compression: String = "none"

    @Option(help: "Required acks: 0, 1 or -1 (all; write --acks=-1).")
    var acks: Int = 1

    @Flag(help: "Idempotent producer (needs --acks -1).")
    var idempotent = false

    @Option(help: "Messages per batch (librdkafka batch.num.messages).")
    var batchSize: Int = 100

    @Option(help: "Batch linger in milliseconds (librdkafka linger.ms).")
    var flushIntervalMs: Int = 1000

    @Option(help: "Produce retries (0 disables).")
    var maxRetries: Int = 3

    @Option(help: "Seconds librdkafka keeps trying one message (message.timeout.ms).")
    var deliveryTimeout: Double = 300

    @Option(help: "Bytes librdkafka may queue, in MiB (queue.buffering.max.kbytes).")
    var maxQueueMb: Int = 64

    @OptionGroup var librdkafka: KafkaPropertyOptions

    // The ranges librdkafka accepts (its limits are 32-bit milliseconds and kilobytes).
    func validate() throws {
        guard [-1, 0, 1].contains(acks) else { throw ValidationError("--acks \(acks): use 0, 1 or -1 (all)") }
        try OptionCheck.integer(batchSize, "--batch-size", in: 1...1_000_000, "messages")
        try OptionCheck.integer(flushIntervalMs, "--flush-interval-ms", in: 0...900_000, "milliseconds")
        try OptionCheck.integer(maxRetries, "--max-retries", in: 0...Int(Int32.max), "retries")
        try OptionCheck.number(deliveryTimeout, "--delivery-timeout", in: 0.001...2_147_483, "seconds")
        try OptionCheck.integer(maxQueueMb, "--max-queue-mb", in: 1...2_097_151, "MiB")
    }

    var usesKafka: Bool { !brokers.isEmpty }

    func kafkaConfiguration() throws -> KafkaConfiguration {
        var configuration = KafkaConfiguration(brokers: brokers.split(separator: ",").map(String.init), topic: topic)
        configuration.compression = try KafkaConfiguration.Compression(name: compression)
        configuration.requiredAcks = acks
        configuration.idempotent = idempotent
        configuration.batchSize = batchSize
        configuration.flushInterval = .milliseconds(flushIntervalMs)
        configuration.maxRetries = maxRetries
        configuration.deliveryTimeout = .milliseconds(Int(deliveryTimeout * 1000))
        configuration.maxQueueBytes = maxQueueMb << 20
        configuration.properties.merge(try librdkafka.resolved()) { _, given in given }
        return configuration
    }
}

/// Where events go and how safely: the embedded local log by default, Kafka with `--brokers` (produce and
/// demo, which record events through a collector).
struct TransportOptions: ParsableArguments {
    @OptionGroup var kafka: KafkaOptions

    @Option(help: "The embedded local log (used when no --brokers are given).")
    var log: String = "feedback-data/events.sqlite"

    @Option(help: "Kafka outage spool: where undeliverable events wait for replay.")
    var spool: String = "feedback-data/spool.sqlite"

    @Flag(help: "No spool: count Kafka delivery failures instead of spooling them.")
    var noSpool = false

    @Option(help: "Cap of the spool or local log, in MiB.")
    var spoolMaxMb: Int = 1024

    @Option(help: "At the cap: reject_new (count drops) or drop_oldest (evict spooled events).")
    var overflow: String = "reject_new"

    @Flag(help: "Durable mode: record returns once the event is on local disk (nothing lost on SIGKILL).")
    var durable = false

    @Option(help: "Events buffered by the collector before record() refuses them.")
    var capacity: Int = 100_000

    @Option(help: "Seconds shutdown may take to deliver what is in flight (the rest is spooled).")
    var shutdownTimeout: Double = 30

    @OptionGroup var observability: ObservabilityOptions

    func validate() throws {
        try OptionCheck.integer(spoolMaxMb, "--spool-max-mb", in: 1...(1 << 24), "MiB")
        try OptionCheck.integer(capacity, "--capacity", atLeast: 1, "events")
        try OptionCheck.number(shutdownTimeout, "--shutdown-timeout", in: 0...86_400, "seconds")
        _ = try overflowPolicy()
        if usesKafka && noSpool && durable { throw ValidationError("--durable needs the spool: drop --no-spool") }
    }

    var usesKafka: Bool { kafka.usesKafka }

    func spoolConfiguration() throws -> SpoolConfiguration? {
        if noSpool { return nil }
        var configuration = SpoolConfiguration(path: spool, maxBytes: spoolMaxMb << 20)
        configuration.overflow = try overflowPolicy()
        return configuration
    }

    func overflowPolicy() throws -> LocalLog.Configuration.OverflowPolicy {
        guard let policy = LocalLog.Configuration.OverflowPolicy(rawValue: overflow) else {
            throw ValidationError("--overflow \(overflow): use reject_new or drop_oldest")
        }
        return policy
    }

    var logger: Logger { observability.logger }

    /// The collector these options describe, with its spool in front of Kafka when there is one.
    func makeCollector() throws -> (collector: FeedbackCollector, spool: SpoolingTransport?) {
        let collectorConfiguration = FeedbackCollector.Configuration(
            capacity: capacity, logger: logger, durability: durable ? .durable : .bestEffort,
            shutdownTimeout: .milliseconds(Int(shutdownTimeout * 1000)))
        if usesKafka {
            let kafkaTransport = try KafkaTransport(configuration: kafka.kafkaConfiguration(), logger: logger)
            guard let spool = try spoolConfiguration() else {
                return (try FeedbackCollector(transport: kafkaTransport, configuration: collectorConfiguration), nil)
            }
            let transport = try SpoolingTransport(wrapping: kafkaTransport, spool: spool, logger: logger)
            return (try FeedbackCollector(transport: transport, configuration: collectorConfiguration), transport)
        }
        let log = try LocalLog(configuration: .init(path: log, maxBytes: spoolMaxMb << 20, overflow: overflowPolicy()))
        return (
            try FeedbackCollector(transport: LocalLogTransport(log: log), configuration: collectorConfiguration), nil
        )
    }

    var destination: String { usesKafka ? "topic '\(kafka.topic)' at \(kafka.brokers)" : "local log \(log)" }

    func bootstrap() -> PrometheusCollectorRegistry? { observability.bootstrap() }

    func writeMetrics(_ registry: PrometheusCollectorRegistry?) throws { try observability.writeMetrics(registry) }
}
