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
                throw .configuration("librdkafka property \(key)=\(value): \(Self.text(errstr))")
            }
        }
        let callbacks = Unmanaged.passRetained(
            ProducerCallbacks(logger: logger, onDeliveries: onDeliveries, onError: onError))
        rd_kafka_conf_set_opaque(conf, callbacks.toOpaque())
        // The default partitioner, with a cheaper CRC for short keys (see KeyPartitioner); set on the default
        // topic configuration, which the topic handle copies with every topic property given above.
        if [nil, "consistent_random"].contains(properties["partitioner"]) {
            rd_kafka_topic_conf_set_partitioner_cb(rd_kafka_conf_get_default_topic_conf(conf), KeyPartitioner.callback)
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
        self.pollThread = PollThread(name: "feedback.kafka.poll") {
            // While a sending thread serves reports itself (`serveReady`), stand back: a report taken here is
            // freed here, through the sender's malloc arena. Serve once it has been quiet for 2 ms.
            let quietFor = DispatchTime.now().uptimeNanoseconds &- served.senderServedNanos.load(ordering: .relaxed)
            if quietFor < 2_000_000 {
                usleep(UInt32((2_000_000 - quietFor) / 1000) + 100)
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
    /// `message(i)`, whose buffers need only stay valid during this call (librdkafka copies them). Stops at the
    /// first message the queue has no room for. Returns how many messages, from the first, librdkafka took
    /// or refused for good; each refusal is passed to `refused` with its index. Never blocks.
    ///
    /// ```swift
    /// let taken = producer.produce(count: payloads.count, message: { i in
    ///     OutgoingMessage(key: nil, value: payloads[i], token: UInt(i))
    /// }, refused: { i, error in print("message \(i): \(error)") })
    /// // taken < payloads.count: the queue is full; retry the rest once deliveries have drained it.
    /// ```
    public func produce(
        count: Int, message: (Int) -> OutgoingMessage, refused: (Int, KafkaError) -> Void
    ) -> Int {
        guard count > 0 else { return 0 }
        if closed.load(ordering: .relaxed) {
            for index in 0..<count {
                refused(index, KafkaError(RD_KAFKA_RESP_ERR__DESTROY, message: "the producer is closed"))
            }
            return count
        }
        return withUnsafeTemporaryAllocation(of: rd_kafka_message_t.self, capacity: count) { messages in
            for index in 0..<count {
                let outgoing = message(index)
                var raw = rd_kafka_message_t()
                raw.payload = UnsafeMutableRawPointer(mutating: outgoing.value.baseAddress)
                raw.len = outgoing.value.count
                raw.key = outgoing.key.flatMap { UnsafeMutableRawPointer(mutating: $0.baseAddress) }
                raw.key_len = outgoing.key?.count ?? 0
                raw._private = UnsafeMutableRawPointer(bitPattern: outgoing.token)
                messages.initializeElement(at: index, to: raw)
            }
            _ = feedback_produce_batch(topicHandle, messages.baseAddress, Int32(count))
            var taken = count
            for index in 0..<count where messages[index].err != RD_KAFKA_RESP_ERR_NO_ERROR {
                if messages[index].err == RD_KAFKA_RESP_ERR__QUEUE_FULL {
                    taken = index
                    break
                }
                refused(index, KafkaError(messages[index].err))
            }
            messages.deinitialize()
            return taken
        }
    }

    /// Serves the delivery reports (and errors) ready now on the calling thread, without waiting — as kcat
    /// does after producing. A sending thread that calls it between `produce` calls frees the messages it
    /// allocated itself, in its own malloc arena (freed on the poll thread, each went through another
    /// arena's lock: a quarter of that thread's time). The poll thread stands back while this is called
    /// (within the last 2 ms) and serves alone otherwise. Never call it concurrently with `close()`.
    ///
    /// ```swift
    /// let taken = producer.produce(count: messages.count, message: { messages[$0] }, refused: { _, _ in })
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
