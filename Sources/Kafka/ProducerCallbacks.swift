import CRdKafka
import Logging
import Synchronization

/// Receives librdkafka's events (on the producer's poll thread) and log lines (on its internal threads) and
/// turns them into Swift values.
final class ProducerCallbacks: Sendable {
    let logger: Logger
    let onDeliveries: @Sendable ([DeliveryReport]) -> Void
    let onError: @Sendable (KafkaError) -> Void
    /// When a sending thread last served reports itself (`KafkaProducer.serveReady`), in uptime nanoseconds.
    let senderServedNanos = Atomic<UInt64>(0)
    /// The topic's partition count as librdkafka last passed it to ``KeyPartitioner`` (0: not yet known).
    let partitionCount = Atomic<Int32>(0)

    func learn(partitionCount count: Int32) {
        if partitionCount.load(ordering: .relaxed) != count { partitionCount.store(count, ordering: .relaxed) }
    }

    init(
        logger: Logger, onDeliveries: @escaping @Sendable ([DeliveryReport]) -> Void,
        onError: @escaping @Sendable (KafkaError) -> Void
    ) {
        self.logger = logger
        self.onDeliveries = onDeliveries
        self.onError = onError
    }

    /// Serves one event from `queue` (the producer's main queue), waiting up to `timeoutMs` for it: a batch
    /// of delivery reports, handed over in one call, or an error. Returns whether there was one.
    func serve(_ queue: EventQueue, timeoutMs: Int32) -> Bool {
        guard let event = rd_kafka_queue_poll(queue.pointer, timeoutMs) else { return false }
        defer { rd_kafka_event_destroy(event) }
        switch rd_kafka_event_type(event) {
        case RD_KAFKA_EVENT_DR:
            var reports: [DeliveryReport] = []
            reports.reserveCapacity(rd_kafka_event_message_count(event))
            withUnsafeTemporaryAllocation(of: UnsafePointer<rd_kafka_message_t>?.self, capacity: 1024) { messages in
                while true {
                    let count = rd_kafka_event_message_array(event, messages.baseAddress, messages.count)
                    guard count > 0 else { break }
                    for index in 0..<count {
                        if let message = messages[index] { reports.append(Self.report(message.pointee)) }
                    }
                }
            }
            onDeliveries(reports)
        case RD_KAFKA_EVENT_ERROR:
            let reason = rd_kafka_event_error_string(event).map { String(cString: $0) }
            failed(KafkaError(rd_kafka_event_error(event), message: reason))
        default:
            break
        }
        return true
    }

    private static func report(_ message: rd_kafka_message_t) -> DeliveryReport {
        var report = DeliveryReport(
            error: nil, partition: message.partition, offset: message.offset,
            token: UInt(bitPattern: message._private), key: nil, payload: nil)
        if message.err != RD_KAFKA_RESP_ERR_NO_ERROR {
            report.error = KafkaError(message.err)
            report.payload = copy(message.payload, message.len)
            report.key = message.key.map { _ in copy(message.key, message.key_len) }
        }
        return report
    }

    func failed(_ error: KafkaError) {
        onError(error)
    }

    func log(level: Int32, facility: String, message: String) {
        // syslog levels 0-7. Errors that matter also arrive through the error and delivery callbacks, which
        // the transport logs rate-limited; librdkafka's own lines are kept one step quieter so an outage
        // does not print each reconnect twice.
        let mapped: Logger.Level =
            switch level {
            case ...4: .notice
            case 5, 6: .info
            default: .debug
            }
        logger.log(level: mapped, "\(message)", metadata: ["facility": "\(facility)"])
    }

    private static func copy(_ pointer: UnsafeMutableRawPointer?, _ count: Int) -> [UInt8] {
        guard let pointer, count > 0 else { return [] }
        return Array(UnsafeRawBufferPointer(start: pointer, count: count))
    }
}

/// A librdkafka event queue (the producer's main queue).
struct EventQueue: @unchecked Sendable {
    // @unchecked Sendable: rd_kafka_queue_t is thread-safe (librdkafka locks it); it is destroyed only after
    // the poll thread serving it has stopped.
    let pointer: OpaquePointer
}
