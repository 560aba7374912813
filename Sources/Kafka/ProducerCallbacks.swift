import CRdKafka
import Logging

/// Receives librdkafka's callbacks (on its poll thread or internal threads) and turns them into Swift values.
final class ProducerCallbacks: Sendable {
    let logger: Logger
    let onDelivery: @Sendable (DeliveryReport) -> Void
    let onError: @Sendable (KafkaError) -> Void

    init(
        logger: Logger, onDelivery: @escaping @Sendable (DeliveryReport) -> Void,
        onError: @escaping @Sendable (KafkaError) -> Void
    ) {
        self.logger = logger
        self.onDelivery = onDelivery
        self.onError = onError
    }

    func delivered(_ message: rd_kafka_message_t) {
        var report = DeliveryReport(
            error: nil, partition: message.partition, offset: message.offset,
            token: UInt(bitPattern: message._private), key: nil, payload: nil)
        if message.err != RD_KAFKA_RESP_ERR_NO_ERROR {
            report.error = KafkaError(message.err)
            report.payload = Self.copy(message.payload, message.len)
            report.key = message.key.map { _ in Self.copy(message.key, message.key_len) }
        }
        onDelivery(report)
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
