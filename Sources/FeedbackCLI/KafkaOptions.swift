import ArgumentParser
import Feedback
import FeedbackKafka
import Logging

/// The Kafka collector's settings as command-line options (the seed's table).
struct KafkaOptions: ParsableArguments {
    @Option(help: "Kafka bootstrap servers, comma-separated (e.g. 127.0.0.1:9092).")
    var brokers: String = ""

    @Option(help: "Kafka topic.")
    var topic: String = "feedback-topic"

    @Option(help: "none, gzip, snappy, lz4 or zstd.")
    var compression: String = "none"

    @Option(help: "Required acks: 0, 1 or -1 (all).")
    var acks: Int = 1

    @Flag(help: "Idempotent producer (needs --acks -1).")
    var idempotent = false

    @Option(help: "Messages per batch (librdkafka batch.num.messages).")
    var batchSize: Int = 100

    @Option(help: "Batch linger in milliseconds (librdkafka linger.ms).")
    var flushIntervalMs: Int = 1000

    @Option(help: "Produce retries (0 disables).")
    var maxRetries: Int = 3

    @Option(help: "Events buffered by the collector before record() refuses them.")
    var capacity: Int = 100_000

    @Option(name: .customShort("X"), help: "Any librdkafka property, as key=value (repeatable).")
    var properties: [String] = []

    @Option(help: "Seconds shutdown may take to deliver what is in flight.")
    var shutdownTimeout: Double = 30

    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel: String = "warning"

    func kafkaConfiguration() throws -> KafkaConfiguration {
        var configuration = KafkaConfiguration(
            brokers: brokers.split(separator: ",").map(String.init), topic: topic)
        configuration.compression = try KafkaConfiguration.Compression(name: compression)
        configuration.requiredAcks = acks
        configuration.idempotent = idempotent
        configuration.batchSize = batchSize
        configuration.flushInterval = .milliseconds(flushIntervalMs)
        configuration.maxRetries = maxRetries
        for property in properties {
            guard let equals = property.firstIndex(of: "=") else {
                throw ValidationError("-X \(property): write librdkafka properties as key=value")
            }
            configuration.properties[String(property[..<equals])] = String(property[property.index(after: equals)...])
        }
        return configuration
    }

    func makeCollector() throws -> FeedbackCollector {
        if brokers.isEmpty {
            throw ValidationError(
                "--brokers is required (no embedded transport yet): start a local broker with scripts/broker.sh start")
        }
        var logger = Logger(label: "feedback")
        logger.logLevel = Logger.Level(rawValue: logLevel) ?? .warning
        return try FeedbackCollector.kafka(
            kafkaConfiguration(), collector: .init(capacity: capacity, logger: logger), logger: logger)
    }

    func bootstrapLogging() {
        let level = Logger.Level(rawValue: logLevel) ?? .warning
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
    }
}
