import CRdKafka
import Foundation
import Logging
import Synchronization

/// A librdkafka producer for one topic, with a Swift API free of C pointers.
///
/// `produce` never blocks: librdkafka copies the message into its own bounded queue and batches it
/// (`linger.ms`, `batch.num.messages`). Delivery reports are served on a dedicated poll thread and handed
/// to `onDeliveries` a batch at a time — a blocking C call must never hold one of Swift's few cooperative
/// threads.
///
/// ```swift
/// let producer = try KafkaProducer(
///     topic: "feedback",
///     properties: ["bootstrap.servers": "127.0.0.1:9092", "linger.ms": "5"],
///     onDeliveries: { reports in for report in reports where report.error != nil { print(report) } })
/// let payload = Array(#"{"hello":"kafka"}"#.utf8)
/// _ = payload.withUnsafeBytes { producer.produce(key: nil, value: $0, token: 0) }
/// _ = producer.flush(timeout: .seconds(5))
/// producer.close()
/// ```
public final class KafkaProducer: @unchecked Sendable {
    // @unchecked Sendable: librdkafka's rd_kafka_t and rd_kafka_topic_t are documented thread-safe; the two
    // handles are immutable after init and destroyed only in close(), guarded by the `closed` atomic.
    private let handle: OpaquePointer
    private let topicHandle: OpaquePointer
    /// The main queue, where delivery report batches and errors arrive as events.
    private let mainQueue: EventQueue
    private let callbacks: Unmanaged<ProducerCallbacks>
    private let pollThread: PollThread
    private let closed = Atomic<Bool>(false)
    /// Whether the partitioner is ours (``KeyPartitioner``): batches are then routed to partitions here.
    private let routesByKey: Bool

    /// The topic every message goes to.
    public let topic: String

    /// Creates a producer. Properties are librdkafka's (CONFIGURATION.md); an unknown or invalid one throws
    /// with librdkafka's explanation. Connecting happens in the background: an unreachable broker is not an
    /// error here, it shows up as delivery failures after `message.timeout.ms` and as `onError` calls.
    public init(
        topic: String,
        properties: [String: String],
        logger: Logger = Logger(label: "feedback.kafka"),
        onDeliveries: @escaping @Sendable ([DeliveryReport]) -> Void,
        onError: @escaping @Sendable (KafkaError) -> Void = { _ in }
    ) throws(KafkaError) {
        guard let conf = rd_kafka_conf_new() else { throw .configuration("rd_kafka_conf_new failed") }
        var errstr = [CChar](repeating: 0, count: 512)
        // Deterministic order, so that the first error reported is the same every run.
        for (key, value) in properties.sorted(by: { $0.key < $1.key }) {
            if rd_kafka_conf_set(conf, key, value, &errstr, errstr.count) != RD_KAFKA_CONF_OK {
                rd_kafka_conf_destroy(conf)
                throw .configuration("librdkafka property \(KafkaProperties.shown(key, value)): \(Self.text(errstr))")
            }
        }
        let callbacks = Unmanaged.passRetained(
            ProducerCallbacks(logger: logger, onDeliveries: onDeliveries, onError: onError))
        rd_kafka_conf_set_opaque(conf, callbacks.toOpaque())
        // The default partitioner, with a cheaper CRC for short keys (see KeyPartitioner); set on the default
        // topic configuration, which the topic handle copies with every topic property given above.
        // Its opaque (the callbacks, alive until close) learns the partition count for routing batches.
        let routesByKey = [nil, "consistent_random"].contains(properties["partitioner"])
        if routesByKey {
            // There is none until a topic-level property is set (librdkafka then creates it).
            if rd_kafka_conf_get_default_topic_conf(conf) == nil {
                rd_kafka_conf_set_default_topic_conf(conf, rd_kafka_topic_conf_new())
            }
            let topicConfiguration = rd_kafka_conf_get_default_topic_conf(conf)
            rd_kafka_topic_conf_set_partitioner_cb(topicConfiguration, KeyPartitioner.callback)
            rd_kafka_topic_conf_set_opaque(topicConfiguration, callbacks.toOpaque())
        }
        // Delivery reports and errors come as events on the main queue, which the poll thread serves: a
        // batch of reports per event (one Swift call per batch instead of a C callback per message).
        rd_kafka_conf_set_events(conf, feedback_producer_events)
        rd_kafka_conf_set_log_cb(conf) { rk, level, facility, message in
            guard let rk, let opaque = rd_kafka_opaque(rk) else { return }
            Unmanaged<ProducerCallbacks>.fromOpaque(opaque).takeUnretainedValue()
                .log(
                    level: level, facility: facility.map { String(cString: $0) } ?? "",
                    message: message.map { String(cString: $0) } ?? "")
        }
        guard let rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, &errstr, errstr.count) else {
            // rd_kafka_new takes ownership of conf only on success.
            rd_kafka_conf_destroy(conf)
            callbacks.release()
            throw .configuration("cannot create the Kafka producer: \(Self.text(errstr))")
        }
        guard let rkt = rd_kafka_topic_new(rk, topic, nil) else {
            let error = KafkaError(rd_kafka_last_error(), message: "cannot use topic '\(topic)'")
            rd_kafka_destroy(rk)
            callbacks.release()
            throw error
        }
        let queue = EventQueue(pointer: rd_kafka_queue_get_main(rk)!)
        let served = callbacks.takeUnretainedValue()
        self.handle = rk
        self.topicHandle = rkt
        self.mainQueue = queue
        self.callbacks = callbacks
        self.topic = topic
        self.routesByKey = routesByKey
        self.pollThread = PollThread(name: "feedback.kafka.poll") {
            // While a sending thread serves reports itself (`serveReady`), stand back: a report taken here is
            // freed here, through the sender's malloc arena. Serve once it has been quiet for 10 ms.
            let quietFor = DispatchTime.now().uptimeNanoseconds &- served.senderServedNanos.load(ordering: .relaxed)
            if quietFor < 10_000_000 {
                usleep(UInt32((10_000_000 - quietFor) / 1000) + 100)
                return
            }
            if quietFor < 100_000_000 {
                // The sender paused (waiting for events): take what is ready without waiting on the queue — a
                // thread waiting there is woken by, and takes, every report once the sender has resumed.
                while served.serve(queue, timeoutMs: 0) {}
                usleep(1000)
                return
            }
            _ = served.serve(queue, timeoutMs: 100)
        }
    }

    deinit {
        close()
    }

    /// Hands one message to librdkafka, which copies key and value. Never blocks, never waits on the network.
    /// `token` comes back in the message's ``DeliveryReport``.
    public func produce(key: UnsafeRawBufferPointer?, value: UnsafeRawBufferPointer, token: UInt) -> ProduceResult {
        if closed.load(ordering: .relaxed) {
            return .failed(KafkaError(RD_KAFKA_RESP_ERR__DESTROY, message: "the producer is closed"))
        }
        let err = feedback_produce(
            topicHandle, value.baseAddress, value.count, key?.baseAddress, key?.count ?? 0,
            UnsafeMutableRawPointer(bitPattern: token))
        switch err {
        case RD_KAFKA_RESP_ERR_NO_ERROR: return .enqueued
        case RD_KAFKA_RESP_ERR__QUEUE_FULL: return .queueFull
        default: return .failed(KafkaError(err))
        }
    }

    /// Hands `count` messages to librdkafka in one call (one topic lock, one clock reading): message `i` is
    /// `message(i)`, whose buffers need only stay valid during this call (librdkafka copies them). Never
    /// blocks. Each message refused for good is passed to `refused` with its index; each librdkafka had no
    /// room for (its queue is full) to `full`, in ascending order — retry those once deliveries have drained
    /// the queue. Returns how many were full.
    ///
    /// With the default partitioner, keyed messages are routed here — the partition librdkafka would choose
    /// (``KeyPartitioner``), grouped by partition, so librdkafka looks each partition up once per batch
    /// instead of running its partitioner per message. The order of the messages of one partition is kept;
    /// so when the queue fills up midway, the full ones are the last of each partition's, not necessarily the
    /// last of the batch.
    ///
    /// ```swift
    /// var retry: [Int] = []
    /// producer.produce(count: payloads.count, message: { i in
    ///     OutgoingMessage(key: nil, value: payloads[i], token: UInt(i))
    /// }, refused: { i, error in print("message \(i): \(error)") }, full: { i in retry.append(i) })
    /// ```
    @discardableResult
    public func produce(
        count: Int, message: (Int) -> OutgoingMessage, refused: (Int, KafkaError) -> Void,
        full: (Int) -> Void
    ) -> Int {
        guard count > 0 else { return 0 }
        if closed.load(ordering: .relaxed) {
            for index in 0..<count {
                refused(index, KafkaError(RD_KAFKA_RESP_ERR__DESTROY, message: "the producer is closed"))
            }
            return 0
        }
        // Known once librdkafka has called the partitioner; the first message of each batch still goes through
        // it, so a grown partition count is learnt within a batch.
        let partitionCount = routesByKey ? callbacks.takeUnretainedValue().partitionCount.load(ordering: .relaxed) : 0
        let route = partitionCount > 0 && count > 1 && Int(partitionCount) <= count
        return withUnsafeTemporaryAllocation(of: rd_kafka_message_t.self, capacity: count) { messages in
            withUnsafeTemporaryAllocation(of: Int.self, capacity: count) { order in
                if route {
                    Self.grouped(
                        count: count, partitionCount: partitionCount, message: message, into: messages, order: order)
                    _ = feedback_produce_batch_partitioned(topicHandle, messages.baseAddress, Int32(count))
                } else {
                    for index in 0..<count {
                        messages.initializeElement(at: index, to: Self.raw(message(index), partition: -1))
                        order.initializeElement(at: index, to: index)
                    }
                    _ = feedback_produce_batch(topicHandle, messages.baseAddress, Int32(count))
                }
                // Outcomes by original index, reported in ascending order.
                return withUnsafeTemporaryAllocation(of: rd_kafka_resp_err_t.self, capacity: count) { outcomes in
                    for position in 0..<count {
                        outcomes.initializeElement(at: order[position], to: messages[position].err)
                    }
                    var fullCount = 0
                    for index in 0..<count where outcomes[index] != RD_KAFKA_RESP_ERR_NO_ERROR {
                        if outcomes[index] == RD_KAFKA_RESP_ERR__QUEUE_FULL {
                            fullCount += 1
                            full(index)
                        } else {
                            refused(index, KafkaError(outcomes[index]))
                        }
                    }
                    return fullCount
                }
            }
        }
    }

    /// Fills `messages` with the batch grouped by partition (a stable counting sort; `order[position]` is the
    /// original index): first the messages librdkafka partitions — the batch's first, which keeps the count
    /// learnt, and those without key (spread by librdkafka) — then partition 0's, 1's, ...
    private static func grouped(
        count: Int, partitionCount: Int32, message: (Int) -> OutgoingMessage,
        into messages: UnsafeMutableBufferPointer<rd_kafka_message_t>, order: UnsafeMutableBufferPointer<Int>
    ) {
        withUnsafeTemporaryAllocation(of: rd_kafka_message_t.self, capacity: count) { unsorted in
            withUnsafeTemporaryAllocation(of: Int.self, capacity: Int(partitionCount) + 2) { starts in
                starts.initialize(repeating: 0)
                for index in 0..<count {
                    let outgoing = message(index)
                    var partition: Int32 = -1
                    if index > 0, let key = outgoing.key, key.count > 0 {
                        partition = KeyPartitioner.partition(key: key, partitionCount: partitionCount)
                    }
                    unsorted.initializeElement(at: index, to: raw(outgoing, partition: partition))
                    starts[Int(partition) + 2] += 1
                }
                for bucket in 1..<starts.count { starts[bucket] += starts[bucket - 1] }
                for index in 0..<count {
                    let bucket = Int(unsorted[index].partition) + 1
                    let position = starts[bucket]
                    starts[bucket] = position + 1
                    messages.initializeElement(at: position, to: unsorted[index])
                    order.initializeElement(at: position, to: index)
                }
            }
        }
    }

    private static func raw(_ outgoing: OutgoingMessage, partition: Int32) -> rd_kafka_message_t {
        var raw = rd_kafka_message_t()
        raw.partition = partition
        raw.payload = UnsafeMutableRawPointer(mutating: outgoing.value.baseAddress)
        raw.len = outgoing.value.count
        raw.key = outgoing.key.flatMap { UnsafeMutableRawPointer(mutating: $0.baseAddress) }
        raw.key_len = outgoing.key?.count ?? 0
        raw._private = UnsafeMutableRawPointer(bitPattern: outgoing.token)
        return raw
    }

    /// Serves the delivery reports (and errors) ready now on the calling thread, without waiting — as kcat
    /// does after producing. A sending thread that calls it between `produce` calls frees the messages it
    /// allocated itself, in its own malloc arena (freed on the poll thread, each went through another
    /// arena's lock: a quarter of that thread's time). The poll thread stands back while this is called
    /// (within the last 10 ms) and serves alone otherwise. Never call it concurrently with `close()`.
    ///
    /// ```swift
    /// producer.produce(count: messages.count, message: { messages[$0] }, refused: { _, _ in }, full: { _ in })
    /// producer.serveReady()  // reports of earlier batches: handed to onDeliveries, freed on this thread
    /// ```
    public func serveReady(maxEvents: Int = 16) {
        guard !closed.load(ordering: .relaxed) else { return }
        let served = callbacks.takeUnretainedValue()
        served.senderServedNanos.store(DispatchTime.now().uptimeNanoseconds, ordering: .relaxed)
        var remaining = maxEvents
        while remaining > 0, served.serve(mainQueue, timeoutMs: 0) { remaining -= 1 }
    }

    /// Messages queued, in flight, or whose delivery report has not been served yet.
    public var outstanding: Int {
        closed.load(ordering: .relaxed) ? 0 : Int(rd_kafka_outq_len(handle))
    }

    /// Sends everything queued now (ignoring `linger.ms`) and waits for the delivery reports.
    /// Blocks the calling thread: call it from a dedicated thread. Returns false on timeout.
    public func flush(timeout: Duration) -> Bool {
        if closed.load(ordering: .relaxed) { return true }
        return rd_kafka_flush(handle, Self.milliseconds(timeout)) == RD_KAFKA_RESP_ERR_NO_ERROR
    }

    /// Whether a broker answers a metadata request within `timeout`. Blocks: call from a dedicated thread.
    public func isReachable(timeout: Duration) -> Bool {
        if closed.load(ordering: .relaxed) { return false }
        var metadata: UnsafePointer<rd_kafka_metadata>?
        let err = rd_kafka_metadata(handle, 0, topicHandle, &metadata, Self.milliseconds(timeout))
        if let metadata { rd_kafka_metadata_destroy(metadata) }
        return err == RD_KAFKA_RESP_ERR_NO_ERROR
    }

    /// Drops every queued and in-flight message; each gets a delivery report with a purge error (``KafkaError/isPurged``).
    public func purge() {
        if closed.load(ordering: .relaxed) { return }
        _ = rd_kafka_purge(handle, feedback_purge_all)
        // Serve the purge reports now rather than waiting for the next poll.
        _ = rd_kafka_flush(handle, 100)
    }

    /// Stops the poll thread and destroys the producer. Call ``flush(timeout:)`` (and ``purge()``) first:
    /// whatever is still queued then is reported as purged. Idempotent.
    public func close() {
        guard closed.compareExchange(expected: false, desired: true, ordering: .acquiringAndReleasing).exchanged
        else { return }
        pollThread.stop()
        _ = rd_kafka_purge(handle, feedback_purge_all)
        let served = callbacks.takeUnretainedValue()
        while rd_kafka_outq_len(handle) > 0, served.serve(mainQueue, timeoutMs: 10) {}
        rd_kafka_queue_destroy(mainQueue.pointer)
        rd_kafka_topic_destroy(topicHandle)
        rd_kafka_destroy(handle)
        callbacks.release()
    }

    /// The librdkafka version loaded at run time, e.g. "2.16.1".
    public static var libraryVersion: String { String(cString: rd_kafka_version_str()) }

    /// Whether the loaded librdkafka is at least 2.2 (older ones cannot parse some brokers' ApiVersion replies).
    public static var libraryIsCurrent: Bool { rd_kafka_version() >= 0x0202_00ff }

    static func milliseconds(_ duration: Duration) -> Int32 {
        let (seconds, attoseconds) = duration.components
        let ms = seconds * 1000 + attoseconds / 1_000_000_000_000_000
        return Int32(clamping: max(0, ms))
    }

    static func text(_ buffer: [CChar]) -> String {
        buffer.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
    }
}
