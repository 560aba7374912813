import FeedbackLog
import Kafka
import Logging

/// One input record: where it sits in its partition and its payload (a feedback event's JSON).
public struct SourceRecord: Sendable, Hashable {
    public var partition: Int32
    public var offset: Int64
    public var payload: [UInt8]

    public init(partition: Int32, offset: Int64, payload: [UInt8]) {
        self.partition = partition
        self.offset = offset
        self.payload = payload
    }
}

/// Where the processor reads feedback events: the embedded local log or a Kafka consumer group.
/// Need not be thread-safe: one processor drives one source, one call at a time — though not always from
/// the same thread (it reads the next poll on another thread while it applies the previous one).
public protocol FeedbackSource: AnyObject {
    var name: String { get }
    /// Called once before the first poll with the last offset applied per partition (from the processor's
    /// store, which commits them with its outputs).
    func start(after applied: [Int32: Int64]) throws
    /// The next records, at most `max`, waiting up to `timeout` for the first. Blocks.
    func poll(max: Int, timeout: Duration) throws -> [SourceRecord]
    /// The outputs of `records` are durable: the source may forget them (commit its own offsets).
    func commit(_ records: [SourceRecord]) throws
    /// `records` (a failed batch and anything polled after it) were not kept: the next `poll` returns them
    /// again (each partition goes back to its first record among them).
    func rewind(_ records: [SourceRecord]) throws
    /// The partitions this source reads now (a consumer's assignment). Event-time windows close only once
    /// every one of them has passed (an assigned partition not read yet holds the watermark back).
    var assignment: [Int32] { get }
}

/// The embedded local log as a source (one partition, 0). The processor's store is the offset of record.
public final class LocalLogSource: FeedbackSource {
    public let log: LocalLog
    private var position: Int64 = 0

    public init(log: LocalLog) { self.log = log }

    public var name: String { "local-log" }

    public func start(after applied: [Int32: Int64]) throws { position = applied[0] ?? 0 }

    public func poll(max: Int, timeout: Duration) throws -> [SourceRecord] {
        let records = try log.read(after: position, limit: max)
        if let last = records.last { position = last.offset }
        return records.map { SourceRecord(partition: 0, offset: $0.offset, payload: $0.payload) }
    }

    public func commit(_ records: [SourceRecord]) throws {}

    public func rewind(_ records: [SourceRecord]) throws {
        if let first = records.lazy.map(\.offset).min() { position = min(position, first - 1) }
    }

    public var assignment: [Int32] { [0] }
}

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
            SourceRecord(partition: $0.partition, offset: $0.offset, payload: $0.payload)
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

/// A source whose client holds each record's bytes until it is read: events are decoded there, and only a
/// record that is not a feedback event keeps a copy of its payload (for the log that reports it).
protocol DecodingSource: FeedbackSource {
    /// Up to `max` records and their events, as `poll` and ``FeedbackProcessor/decode(_:)`` give them, except
    /// that a record holding a feedback event has an empty payload.
    func pollDecoded(max: Int, timeout: Duration) throws -> PollAhead.Poll
}

extension KafkaSource: DecodingSource {
    func pollDecoded(max: Int, timeout: Duration) throws -> PollAhead.Poll {
        // Events are built in the array's storage, allocated for the whole poll: at most this many per poll.
        let limit = Swift.min(max, 65_536)
        var records: [SourceRecord] = []
        records.reserveCapacity(limit)
        var labels = LabelCache()
        let events = [DecodedEvent](unsafeUninitializedCapacity: limit) { events, count in
            consumer.poll(max: limit, timeout: timeout) { partition, offset, payload in
                let event = DecodedEvent.decode(
                    json: payload.assumingMemoryBound(to: UInt8.self), fallbackID: "\(partition)-\(offset)",
                    labels: &labels, initializing: events.baseAddress! + count)
                count += 1
                records.append(SourceRecord(partition: partition, offset: offset, payload: event ? [] : Array(payload)))
            }
        }
        return (records, events)
    }
}
