import ArgumentParser
import FeedbackLog
import FeedbackProcessor
import FeedbackProcessorClickHouse
import FeedbackProcessorRedis
import Foundation
import Logging
import ServiceLifecycle

/// What `feedback process` reads (the local log or a Kafka consumer group), where it writes (its store, the
/// samples, Redis and ClickHouse) and how it batches. Only `process` takes these: the readers (profile,
/// metrics) take ``StoreOptions``.
struct ProcessorOptions: ParsableArguments {
    @Option(help: "The embedded local log to consume.")
    var log: String = "feedback-data/events.sqlite"

    @Option(help: "Kafka bootstrap servers: consume the topic in a consumer group instead of the local log.")
    var brokers: String = ""

    @Option(help: "Kafka topic to consume.")
    var topic: String = "feedback-topic"

    @Option(help: "Kafka consumer group (processors in one group share the partitions).")
    var group: String = "feedback-processor"

    @OptionGroup var librdkafka: KafkaPropertyOptions

    @Option(
        help:
            "Kafka topic for the records the processor refuses (default: the topic's name + .failed; none: only the store)."
    )
    var deadLetterTopic: String?

    @Option(help: "Give up when the consumer group is not joined within this many seconds (Kafka unreachable).")
    var connectTimeoutSeconds: Double = 30

    @Option(
        help: """
            Also publish user profiles to this Redis: host:port or redis://[user:password@]host:port[/db] \
            (password and user also from FEEDBACK_REDIS_PASSWORD, FEEDBACK_REDIS_USER).
            """)
    var redis: String?

    @Option(help: "Also publish live metrics to this ClickHouse HTTP endpoint (e.g. http://127.0.0.1:8123).")
    var clickhouse: String?

    @Option(help: "This processor's name in shared sinks (one per member of a consumer group).")
    var instance: String = "default"

    @OptionGroup var store: StoreOptions

    @Option(help: "Root directory of the training samples.")
    var samples: String = "feedback-data/samples"

    @Option(help: "Attribution window in seconds (event time).")
    var windowSeconds: Int = 1800

    @Option(help: "Seconds an assigned partition may deliver nothing before it stops holding windows open (0: never).")
    var partitionIdleSeconds: Double = 60

    @Option(help: "Input records per transaction, at most (a batch ends early when nothing more is ready).")
    var batchSize: Int = 250_000

    @Option(help: "Milliseconds a batch waits for more records when none are ready, before it ends.")
    var batchLingerMs: Int = 20

    func validate() throws {
        // The processor's own bounds: 1 ms to 100 years.
        try OptionCheck.integer(windowSeconds, "--window-seconds", in: 1...(100 * 366 * 86_400), "seconds")
        try OptionCheck.integer(batchSize, "--batch-size", atLeast: 1, "records")
        try OptionCheck.integer(batchLingerMs, "--batch-linger-ms", in: 0...60_000, "milliseconds")
        try OptionCheck.number(partitionIdleSeconds, "--partition-idle-seconds", in: 0...(7 * 86_400), "seconds")
        try OptionCheck.number(connectTimeoutSeconds, "--connect-timeout-seconds", in: 0.1...86_400, "seconds")
        _ = try redisAddress()
        if let clickhouse { _ = try StoreOptions.clickHouseURL(clickhouse) }
        if instance.isEmpty { throw ValidationError("--instance is empty: name this processor") }
    }

    /// `--redis` as a Redis configuration (the password possibly from the environment).
    func redisAddress() throws -> RedisConfiguration? {
        guard let redis else { return nil }
        do {
            return try RedisConfiguration(parsing: redis, environment: ProcessInfo.processInfo.environment)
        } catch {
            throw ValidationError("--redis: \(error.message)")
        }
    }

    /// The processor, and its Kafka source when it reads one.
    func makeProcessor() throws -> (FeedbackProcessor, KafkaSource?) {
        var configuration = ProcessorConfiguration(storePath: store.path, samplesDirectory: samples)
        configuration.attributionWindow = .seconds(windowSeconds)
        configuration.batchSize = batchSize
        configuration.batchLinger = .milliseconds(batchLingerMs)
        configuration.partitionIdleTimeout =
            partitionIdleSeconds == 0 ? nil : .milliseconds(max(1, Int(partitionIdleSeconds * 1000)))
        var sinks: [any ProfileSink] = []
        if let redis = try redisAddress() {
            sinks.append(try RedisProfileSink(configuration: redis))
        }
        var metricsSinks: [any MetricsSink] = []
        if let clickhouse {
            metricsSinks.append(
                try ClickHouseMetricsSink(url: StoreOptions.clickHouseURL(clickhouse), instance: instance))
        }
        if !brokers.isEmpty {
            // A shorter session than librdkafka's 45 s default: joins and failovers take a fraction of it.
            let source = try KafkaSource(
                brokers: brokers.split(separator: ",").map(String.init), topic: topic, group: group,
                properties: ["session.timeout.ms": "10000", "heartbeat.interval.ms": "2000"].merging(
                    try librdkafka.resolved()
                ) { _, given in given })
            var failedSinks: [any FailedRecordSink] = []
            let deadLetters = deadLetterTopic ?? topic + ".failed"
            if deadLetters != "none" {
                var properties = try librdkafka.resolved()
                properties["bootstrap.servers"] = brokers
                failedSinks.append(try DeadLetterTopic(topic: deadLetters, properties: properties))
            }
            return (
                try FeedbackProcessor(
                    source: source, configuration: configuration, profileSinks: sinks, metricsSinks: metricsSinks,
                    failedSinks: failedSinks),
                source
            )
        }
        guard FileManager.default.fileExists(atPath: log) else {
            throw ValidationError("no local log at \(log): record events first (feedback demo) or pass --log PATH")
        }
        return (
            try FeedbackProcessor(
                log: LocalLog(configuration: .init(path: log)), configuration: configuration, profileSinks: sinks,
                metricsSinks: metricsSinks),
            nil
        )
    }

    /// Joins the consumer group (polling, nothing consumed off the clock for `--idle-seconds`), or says
    /// clearly that the brokers cannot be reached once `--connect-timeout-seconds` have passed.
    func join(_ processor: FeedbackProcessor, _ source: KafkaSource, into statistics: inout ProcessorStatistics)
        throws
    {
        let deadline = ContinuousClock.now + .milliseconds(Int(connectTimeoutSeconds * 1000))
        while processor.sourceAssignment.isEmpty {
            guard ContinuousClock.now < deadline else {
                let reason = source.consumer.lastError.map { ": \($0.message)" } ?? ""
                throw RunFailure(
                    "no partition of \(topic) assigned to group \(group) within \(connectTimeoutSeconds) s"
                        + "\(reason); is a broker running at \(brokers)? (--connect-timeout-seconds)")
            }
            statistics.add(try processor.processBatch(timeout: .milliseconds(500)))
        }
    }
}

struct ProcessCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "process",
        abstract: "Consume the local log into user profiles, live metrics and training samples.",
        discussion: """
            Processes everything after the stored offset and prints one JSON line:
            {"processed":N,"duplicates":D,"failed":F,"samples":S,"offset":O}. Safe to kill at any point:
            the next run resumes from the last committed batch without double counting.
            """)

    @OptionGroup var options: ProcessorOptions

    @Flag(help: "Also emit samples for impressions whose attribution window is still open (end of a stream).")
    var closeWindows = false

    @Flag(help: "Keep processing as events arrive, as a service, until SIGTERM or SIGINT.")
    var follow = false

    @Option(help: "Stop when the source has been idle this many seconds (Kafka).")
    var idleSeconds: Double = 5

    @OptionGroup var observability: ObservabilityOptions

    func validate() throws {
        try OptionCheck.number(idleSeconds, "--idle-seconds", in: 0...86_400, "seconds")
    }

    func run() async throws {
        let registry = observability.bootstrap()
        let (processor, kafka) = try options.makeProcessor()
        var statistics = ProcessorStatistics()
        // Join the group first: idle time counts only once partitions are assigned.
        if let kafka { try options.join(processor, kafka, into: &statistics) }
        if follow {
            // Batch after batch as a Service until a signal; failed batches are retried with backoff.
            let service = ProcessorService(processor: processor, logger: Logger(label: "feedback.processor"))
            let group = ServiceGroup(
                services: [service], gracefulShutdownSignals: [.sigterm, .sigint],
                logger: Logger(label: "feedback.process"))
            try await group.run()
            statistics.add(service.statistics)
            if closeWindows {
                statistics.samples += try service.withProcessor { processor throws(ProcessorError) in
                    try processor.closeAllWindows()
                }
            }
            statistics.offset = try service.withProcessor { $0.offset }
            try print(statistics: statistics)
            try observability.writeMetrics(registry)
            return
        }
        let idle: Duration = options.brokers.isEmpty ? .zero : .milliseconds(Int(idleSeconds * 1000))
        statistics.add(try processor.processAvailable(idle: idle))
        if closeWindows { statistics.samples += try processor.closeAllWindows() }
        statistics.offset = processor.offset
        try print(statistics: statistics)
        try observability.writeMetrics(registry)
    }

    private func print(statistics: ProcessorStatistics) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        Swift.print(String(decoding: try encoder.encode(statistics), as: UTF8.self))
    }
}
