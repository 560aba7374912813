import CRdKafka

/// An error reported by librdkafka: its code, its symbolic name and a human-readable reason.
///
/// ```swift
/// if let error = report.error { logger.warning("delivery failed: \(error)") }
/// ```
public struct KafkaError: Error, Sendable, Hashable, CustomStringConvertible {
    /// librdkafka's `rd_kafka_resp_err_t` value (negative: local errors; positive: broker errors).
    public var code: Int32
    /// librdkafka's symbolic name of the code, e.g. `_MSG_TIMED_OUT`, `_QUEUE_FULL`.
    public var name: String
    /// What went wrong, in librdkafka's or our words.
    public var message: String

    public init(code: Int32, name: String, message: String) {
        self.code = code
        self.name = name
        self.message = message
    }

    init(_ err: rd_kafka_resp_err_t, message: String? = nil) {
        self.code = err.rawValue
        self.name = String(cString: rd_kafka_err2name(err))
        self.message = message ?? String(cString: rd_kafka_err2str(err))
    }

    /// A configuration that librdkafka refused, with its explanation.
    static func configuration(_ message: String) -> KafkaError {
        KafkaError(code: RD_KAFKA_RESP_ERR__INVALID_ARG.rawValue, name: "_INVALID_ARG", message: message)
    }

    /// `_QUEUE_FULL`: librdkafka's local queue is at `queue.buffering.max.messages` / `.kbytes`.
    public var isQueueFull: Bool { code == RD_KAFKA_RESP_ERR__QUEUE_FULL.rawValue }
    /// `_PURGE_QUEUE` / `_PURGE_INFLIGHT`: the message was purged at shutdown, never acknowledged.
    public var isPurged: Bool {
        code == RD_KAFKA_RESP_ERR__PURGE_QUEUE.rawValue || code == RD_KAFKA_RESP_ERR__PURGE_INFLIGHT.rawValue
    }

    /// An error that retrying later cannot fix (the message itself or the permissions are wrong). Such a
    /// message must not be spooled for replay: it would fail again forever.
    public var isPermanent: Bool {
        let permanent: Set<rd_kafka_resp_err_t> = [
            RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE, RD_KAFKA_RESP_ERR__BAD_MSG,
            RD_KAFKA_RESP_ERR_INVALID_MSG, RD_KAFKA_RESP_ERR_INVALID_RECORD,
            RD_KAFKA_RESP_ERR_RECORD_LIST_TOO_LARGE, RD_KAFKA_RESP_ERR_INVALID_REQUIRED_ACKS,
            RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED, RD_KAFKA_RESP_ERR_CLUSTER_AUTHORIZATION_FAILED,
            RD_KAFKA_RESP_ERR_TOPIC_EXCEPTION, RD_KAFKA_RESP_ERR__INVALID_ARG, RD_KAFKA_RESP_ERR__FATAL,
        ]
        return permanent.contains(rd_kafka_resp_err_t(code))
    }

    /// `_ALL_BROKERS_DOWN`: no broker connection is up.
    public var isAllBrokersDown: Bool { code == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN.rawValue }

    public var description: String { "\(name): \(message)" }
}
