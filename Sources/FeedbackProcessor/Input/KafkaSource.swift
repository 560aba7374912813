import Kafka
import Logging

/// A Kafka topic as a source, read by a consumer group: several processors with the same group share the
/// partitions (and so the users, the key being the user id). Offsets are committed to Kafka after the
/// processor's transaction; records the store already applied (redelivered after a rebalance or a crash)
/// are skipped by offset.
///
/// ```swift
/// let source = try KafkaSource(brokers: ["127.0.0.1:9092"], topic: "feedback-topic", group: "feedback-processor")
/// let processor = try FeedbackProcessor(source: source, configuration: configuration)
/// ```
public final class KafkaSource: FeedbackSource {
    public let consumer: KafkaConsumer
    public let topic: String

    public init(
        brokers: [String], topic: String, group: String, properties: [String: String] = [:],
        logger: Logger = Logger(label: "feedback.processor.kafka")
    ) throws {
        // librdkafka's prefetch target: its default (100,000 messages per partition) let the queue run dry
        // while the processor applied a 100,000-record batch, and half the batches ended early at the
        // first empty poll (1M-event bench: 1k-86k records; each batch pays a commit and the state's
        // writes). Memory stays capped by queued.max.messages.kbytes (64 MiB by default). Once the queue
        // holds that much, librdkafka postpones fetching by fetch.queue.backoff.ms (1 s by default), while
        // the processor emptied the queue and waited, both cores idle: 10–240 ms after every other batch
        // (a tenth of the wall time), preceded by a batch cut short. Rechecked every 10 ms instead.
        var settings = ["queued.min.messages": "1000000", "fetch.queue.backoff.ms": "10"].merging(properties) {
            _, given in given
        }
        settings["bootstrap.servers"] = brokers.joined(separator: ",")
        consumer = try KafkaConsumer(groupID: group, topics: [topic], properties: settings, logger: logger)
        self.topic = topic
    }

    public var name: String { "kafka:\(topic)" }

    public func start(after applied: [Int32: Int64]) throws {}

    public func poll(max: Int, timeout: Duration) throws -> [SourceRecord] {
        consumer.poll(max: max, timeout: timeout, keys: false).map {
            SourceRecord(
                partition: $0.partition, offset: $0.offset, payload: $0.payload, arrivalMs: Swift.max($0.timestampMs, 0)
            )
        }
    }

    public func commit(_ records: [SourceRecord]) throws {
        var next: [Int32: Int64] = [:]
        for record in records { next[record.partition] = max(next[record.partition] ?? 0, record.offset + 1) }
        try consumer.commit(topic: topic, offsets: next)
    }

    public func rewind(_ records: [SourceRecord]) throws {
        var first: [Int32: Int64] = [:]
        for record in records { first[record.partition] = min(first[record.partition] ?? .max, record.offset) }
        try consumer.seek(topic: topic, to: first)
    }

    public var assignment: [Int32] { consumer.assignment }

    /// Joins the consumer group without consuming: polls until partitions are assigned, putting back any
    /// record read meanwhile, so the next `poll` starts where the group's committed offsets say. Returns
    /// whether partitions were assigned within `timeout`. For tools and benchmarks that want the join (a few
    /// seconds on some brokers) done before they start a clock; the processor needs no such call.
    ///
    /// ```swift
    /// let source = try KafkaSource(brokers: ["127.0.0.1:9092"], topic: "feedback-topic", group: "bench")
    /// let processor = try FeedbackProcessor(source: source, configuration: configuration)
    /// guard try source.join(timeout: .seconds(15)) else { throw ... }  // then time processBatch calls
    /// ```
    public func join(timeout: Duration) throws -> Bool {
        let deadline = ContinuousClock.now + timeout
        while consumer.assignment.isEmpty, ContinuousClock.now < deadline {
            let records = try poll(max: 1, timeout: .milliseconds(100))
            if !records.isEmpty { try rewind(records) }
        }
        return !consumer.assignment.isEmpty
    }

    /// Leaves the group.
    public func close() { consumer.close() }
}
