import CRdKafka
import Foundation
import Logging
import Synchronization

/// A librdkafka consumer in a consumer group, with manual offset commits and a Swift API free of C pointers.
///
/// Offsets are committed only when the caller says so (`enable.auto.commit=false`): commit after your
/// outputs are durable for at-least-once processing. A group member starts where the group committed, or
/// at the earliest offset for a new group. `poll` blocks: call it from a dedicated thread.
///
/// ```swift
/// let consumer = try KafkaConsumer(
///     groupID: "feedback-processor", topics: ["feedback-topic"],
///     properties: ["bootstrap.servers": "127.0.0.1:9092"])
/// let messages = consumer.poll(max: 1000, timeout: .seconds(1))
/// try consumer.commit(messages)
/// consumer.close()
/// ```
public final class KafkaConsumer: @unchecked Sendable {
    // @unchecked Sendable: rd_kafka_t is thread-safe; the handle is immutable until close(), guarded by `closed`.
    public struct Message: Sendable, Hashable {
        public var topic: String
        public var partition: Int32
        public var offset: Int64
        public var key: [UInt8]?
        public var payload: [UInt8]
        /// The message's timestamp (the producer's create time, or the broker's log-append time), in Unix
        /// milliseconds; -1 when it has none.
        public var timestampMs: Int64
    }

    private let handle: OpaquePointer
    /// The group's queue (where `rd_kafka_poll_set_consumer` sends everything), read in batches.
    private let queue: OpaquePointer
    private let logger: Logger
    private let closed = Atomic<Bool>(false)
    /// Its error and log callbacks' opaque, released when the consumer is destroyed.
    private let callbacks: Unmanaged<ConsumerCallbacks>

    /// The last consumer error librdkafka reported (a broker it cannot reach, a topic that is not there),
    /// nil if none yet: what to tell a person when the group is never joined.
    public var lastError: KafkaError? { callbacks.takeUnretainedValue().lastError.withLock { $0 } }

    public init(
        groupID: String, topics: [String], properties: [String: String],
        logger: Logger = Logger(label: "feedback.kafka.consumer")
    ) throws(KafkaError) {
        guard let conf = rd_kafka_conf_new() else { throw .configuration("rd_kafka_conf_new failed") }
        var errstr = [CChar](repeating: 0, count: 512)
        var settings = ["group.id": groupID, "enable.auto.commit": "false", "auto.offset.reset": "earliest"]
        settings.merge(properties) { _, given in given }
        for (key, value) in settings.sorted(by: { $0.key < $1.key }) {
            if rd_kafka_conf_set(conf, key, value, &errstr, errstr.count) != RD_KAFKA_CONF_OK {
                rd_kafka_conf_destroy(conf)
                throw .configuration(
                    "librdkafka property \(KafkaProperties.shown(key, value)): \(KafkaProducer.text(errstr))")
            }
        }
        let callbacks = Unmanaged.passRetained(ConsumerCallbacks(logger: logger))
        ConsumerCallbacks.install(callbacks, on: conf)
        guard let rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, &errstr, errstr.count) else {
            rd_kafka_conf_destroy(conf)
            callbacks.release()
            throw .configuration("cannot create the Kafka consumer: \(KafkaProducer.text(errstr))")
        }
        rd_kafka_poll_set_consumer(rk)
        let list = rd_kafka_topic_partition_list_new(Int32(topics.count))
        for topic in topics { rd_kafka_topic_partition_list_add(list, topic, -1) }
        let err = rd_kafka_subscribe(rk, list)
        rd_kafka_topic_partition_list_destroy(list)
        guard err == RD_KAFKA_RESP_ERR_NO_ERROR else {
            rd_kafka_destroy(rk)
            callbacks.release()
            throw KafkaError(err, message: "cannot subscribe to \(topics)")
        }
        guard let queue = rd_kafka_queue_get_consumer(rk) else {
            rd_kafka_destroy(rk)
            callbacks.release()
            throw .configuration("the Kafka consumer has no group queue")
        }
        self.callbacks = callbacks
        handle = rk
        self.queue = queue
        self.logger = logger
    }

    /// Up to `max` messages: waits up to `timeout` for the first, then takes what is already fetched.
    /// Consumer errors (other than end of partition) are logged and skipped. With `keys: false` every
    /// message's key is nil (not copied: a caller that reads only payloads saves an allocation per message).
    public func poll(max: Int, timeout: Duration, keys: Bool = true) -> [Message] {
        var messages: [Message] = []
        messages.reserveCapacity(Swift.min(max, 10_000))
        // Messages of one topic: its name is made once, not per message.
        var lastTopic: (handle: OpaquePointer, name: String)?
        consume(max: max, timeout: timeout) { m, timestampMs in
            var topic = ""
            if let rkt = m.rkt {
                if lastTopic?.handle != rkt { lastTopic = (rkt, String(cString: rd_kafka_topic_name(rkt))) }
                topic = lastTopic!.name
            }
            let payload = m.payload.map { Array(UnsafeRawBufferPointer(start: $0, count: m.len)) } ?? []
            let key = keys ? m.key.map { Array(UnsafeRawBufferPointer(start: $0, count: m.key_len)) } : nil
            messages.append(
                Message(
                    topic: topic, partition: m.partition, offset: m.offset, key: key, payload: payload,
                    timestampMs: timestampMs))
        }
        return messages
    }

    /// Like ``poll(max:timeout:keys:)``, but nothing is copied: `body` sees each message's partition, offset,
    /// timestamp (Unix milliseconds, -1 if none) and payload — bytes valid only during that call — in order. Returns how many messages it saw. For a
    /// reader that turns payloads into something else at once (copying every payload into an array of its
    /// own, then freeing it, was a tenth of the processor's work per event).
    ///
    /// ```swift
    /// var events: [Event] = []
    /// consumer.poll(max: 10_000, timeout: .seconds(1)) { partition, offset, timestampMs, payload in
    ///     events.append(Event(decoding: payload))
    /// }
    /// ```
    @discardableResult
    public func poll(
        max: Int, timeout: Duration,
        visiting body: (
            _ partition: Int32, _ offset: Int64, _ timestampMs: Int64, _ payload: UnsafeRawBufferPointer
        ) -> Void
    ) -> Int {
        var count = 0
        consume(max: max, timeout: timeout) { m, timestampMs in
            count += 1
            body(
                m.partition, m.offset, timestampMs,
                UnsafeRawBufferPointer(start: m.payload, count: m.payload == nil ? 0 : m.len))
        }
        return count
    }

    /// Hands up to `max` messages without error to `body`, each destroyed after the call: waits up to
    /// `timeout` for the first, then takes what is already fetched. Consumer errors (other than end of
    /// partition) are logged and skipped.
    ///
    /// Messages are taken from the group's queue up to 1,000 per librdkafka call
    /// (`rd_kafka_consume_batch_queue`, which serves rebalances as `rd_kafka_consumer_poll` does): one call
    /// per message took a clock reading and the poll bookkeeping each time.
    /// The text an error message carries (librdkafka puts its reason in the payload), else nil.
    private static func messageText(_ message: rd_kafka_message_t) -> String? {
        guard let payload = message.payload, message.len > 0 else { return nil }
        let text = String(decoding: UnsafeRawBufferPointer(start: payload, count: message.len), as: UTF8.self)
        return text.isEmpty ? nil : text
    }

    private func consume(max: Int, timeout: Duration, _ body: (rd_kafka_message_t, Int64) -> Void) {
        guard max > 0, !closed.load(ordering: .acquiring) else { return }
        let chunk = Swift.min(max, 1000)
        var consumed = 0
        withUnsafeTemporaryAllocation(of: UnsafeMutablePointer<rd_kafka_message_t>?.self, capacity: chunk) { taken in
            // The first message within `timeout` (a longer wait would be for the whole chunk), then what is ready.
            var wanted = 1
            var wait = KafkaProducer.milliseconds(timeout)
            while consumed < max {
                let count = rd_kafka_consume_batch_queue(
                    queue, wait, taken.baseAddress, Swift.min(wanted, max - consumed))
                guard count > 0 else { break }
                for index in 0..<count {
                    guard let message = taken[index] else { continue }
                    defer { rd_kafka_message_destroy(message) }
                    let m = message.pointee
                    if m.err != RD_KAFKA_RESP_ERR_NO_ERROR {
                        if m.err != RD_KAFKA_RESP_ERR__PARTITION_EOF {
                            callbacks.takeUnretainedValue().failed(KafkaError(m.err, message: Self.messageText(m)))
                        }
                        continue
                    }
                    consumed += 1
                    body(m, rd_kafka_message_timestamp(message, nil))
                }
                wanted = chunk
                wait = 0
            }
        }
    }

    /// Commits, per partition, the offset after the highest message given (synchronously).
    public func commit(_ messages: [Message]) throws(KafkaError) {
        var next: [String: [Int32: Int64]] = [:]
        for message in messages {
            next[message.topic, default: [:]][message.partition] = max(
                next[message.topic]?[message.partition] ?? 0, message.offset + 1)
        }
        for (topic, offsets) in next { try commit(topic: topic, offsets: offsets) }
    }

    /// Commits these offsets of `topic` (per partition: the next offset to read) synchronously.
    public func commit(topic: String, offsets: [Int32: Int64]) throws(KafkaError) {
        guard !offsets.isEmpty, !closed.load(ordering: .acquiring) else { return }
        let list = rd_kafka_topic_partition_list_new(Int32(offsets.count))
        defer { rd_kafka_topic_partition_list_destroy(list) }
        for (partition, offset) in offsets {
            rd_kafka_topic_partition_list_add(list, topic, partition)?.pointee.offset = offset
        }
        let err = rd_kafka_commit(handle, list, 0)
        guard err == RD_KAFKA_RESP_ERR_NO_ERROR else { throw KafkaError(err, message: "offset commit failed") }
    }

    /// Moves each partition's fetch position to the offset given for it (messages already fetched past it are
    /// dropped): the next `poll` returns that partition's messages from there.
    public func seek(topic: String, to offsets: [Int32: Int64], timeout: Duration = .seconds(10)) throws(KafkaError) {
        guard !offsets.isEmpty, !closed.load(ordering: .acquiring) else { return }
        let list = rd_kafka_topic_partition_list_new(Int32(offsets.count))
        defer { rd_kafka_topic_partition_list_destroy(list) }
        for (partition, offset) in offsets {
            rd_kafka_topic_partition_list_add(list, topic, partition)?.pointee.offset = offset
        }
        if let error = rd_kafka_seek_partitions(handle, list, Int32(KafkaProducer.milliseconds(timeout))) {
            let code = rd_kafka_error_code(error)
            let message = String(cString: rd_kafka_error_string(error))
            rd_kafka_error_destroy(error)
            throw KafkaError(code, message: "seek on \(topic) failed: \(message)")
        }
        for index in 0..<Int(list!.pointee.cnt) where list!.pointee.elems[index].err != RD_KAFKA_RESP_ERR_NO_ERROR {
            let element = list!.pointee.elems[index]
            throw KafkaError(element.err, message: "seek on \(topic) partition \(element.partition) failed")
        }
    }

    /// The partitions currently assigned to this member.
    public var assignment: [Int32] {
        var list: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>?
        guard rd_kafka_assignment(handle, &list) == RD_KAFKA_RESP_ERR_NO_ERROR, let list else { return [] }
        defer { rd_kafka_topic_partition_list_destroy(list) }
        return (0..<Int(list.pointee.cnt)).map { list.pointee.elems[$0].partition }.sorted()
    }

    /// Leaves the group and destroys the consumer. Idempotent.
    public func close() {
        guard !closed.exchange(true, ordering: .acquiringAndReleasing) else { return }
        rd_kafka_queue_destroy(queue)
        rd_kafka_consumer_close(handle)
        rd_kafka_destroy(handle)
    }

    deinit {
        close()
        callbacks.release()
    }
}
