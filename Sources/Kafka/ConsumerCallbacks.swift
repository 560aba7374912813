import CRdKafka
import Logging
import Synchronization

/// Receives a consumer's errors and log lines (on librdkafka's threads): remembers the last error, so that
/// "the group was never joined" can say why, and logs each kind of error at most once every ten seconds —
/// librdkafka retries an unreachable broker every fraction of a second, and says so each time.
final class ConsumerCallbacks: Sendable {
    let logger: Logger
    let lastError = Mutex<KafkaError?>(nil)
    private let lastLogged = Mutex<[Int32: ContinuousClock.Instant]>([:])

    init(logger: Logger) { self.logger = logger }

    func failed(_ error: KafkaError) {
        lastError.withLock { $0 = error }
        let now = ContinuousClock.now
        let due = lastLogged.withLock { logged in
            guard logged[error.code].map({ now - $0 >= .seconds(10) }) ?? true else { return false }
            logged[error.code] = now
            return true
        }
        if due { logger.warning("Kafka consumer error (logged at most every 10 s)", metadata: ["error": "\(error)"]) }
    }

    /// librdkafka's own lines: its errors also come through ``failed(_:)``, so all but the critical ones are
    /// debug output.
    func log(level: Int32, facility: String, message: String) {
        logger.log(level: level <= 2 ? .error : .debug, "\(message)", metadata: ["facility": "\(facility)"])
    }

    /// Installs the error and log callbacks on `conf`, with these callbacks (retained) as its opaque.
    static func install(_ callbacks: Unmanaged<ConsumerCallbacks>, on conf: OpaquePointer) {
        rd_kafka_conf_set_opaque(conf, callbacks.toOpaque())
        rd_kafka_conf_set_error_cb(conf) { _, err, reason, opaque in
            guard let opaque else { return }
            Unmanaged<ConsumerCallbacks>.fromOpaque(opaque).takeUnretainedValue()
                .failed(KafkaError(rd_kafka_resp_err_t(err), message: reason.map { String(cString: $0) }))
        }
        rd_kafka_conf_set_log_cb(conf) { rk, level, facility, message in
            guard let rk, let opaque = rd_kafka_opaque(rk) else { return }
            Unmanaged<ConsumerCallbacks>.fromOpaque(opaque).takeUnretainedValue()
                .log(
                    level: level, facility: facility.map { String(cString: $0) } ?? "",
                    message: message.map { String(cString: $0) } ?? "")
        }
    }
}
