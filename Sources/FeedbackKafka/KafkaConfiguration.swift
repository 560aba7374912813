import Feedback

/// The Kafka collector's settings: the seed's table, with its defaults, mapped onto librdkafka's own
/// batching (there is no second batching layer on top of librdkafka).
///
/// | field | librdkafka property | default |
/// |---|---|---|
/// | `brokers` | `bootstrap.servers` | required |
/// | `topic` | — | required |
/// | `batchSize` | `batch.num.messages` | 100 |
/// | `flushInterval` | `linger.ms` | 1 s |
/// | `clientID` | `client.id` | "reckit-feedback-collector" |
/// | `requiredAcks` | `acks` (0, 1, -1 = all) | 1 |
/// | `compression` | `compression.codec` | none |
/// | `idempotent` | `enable.idempotence` (needs acks -1) | false |
/// | `maxRetries` | `message.send.max.retries` (0 allowed) | 3 |
/// | `maxQueueBytes` | `queue.buffering.max.kbytes` | 64 MiB |
/// | `deliveryTimeout` | `message.timeout.ms` | 5 min |
/// | `properties` | anything else (TLS, SASL, ...) | none |
///
/// ```swift
/// var configuration = KafkaConfiguration(brokers: ["localhost:9092"], topic: "feedback-topic")
/// configuration.compression = .zstd
/// configuration.properties["security.protocol"] = "SASL_SSL"
/// let collector = try FeedbackCollector.kafka(configuration)
/// ```
public struct KafkaConfiguration: Sendable {
    /// A compression codec for produced batches.
    public enum Compression: String, Sendable, CaseIterable {
        case none, gzip, snappy, lz4, zstd

        /// Parses a codec name; "" means none (as in the seed).
        public init(name: String) throws(FeedbackError) {
            let lowered = name.lowercased()
            guard let codec = lowered.isEmpty ? Compression.none : Compression(rawValue: lowered) else {
                throw .invalidConfiguration(
                    "compression '\(name)' is unknown: use one of none, gzip, snappy, lz4, zstd")
            }
            self = codec
        }
    }

    public var brokers: [String]
    public var topic: String
    /// Messages per batch (librdkafka `batch.num.messages`); 100–1000 suits most traffic.
    public var batchSize: Int = 100
    /// How long a batch may wait to fill up (librdkafka `linger.ms`).
    public var flushInterval: Duration = .seconds(1)
    public var clientID: String = "reckit-feedback-collector"
    /// 0 = no acknowledgement, 1 = the leader's, -1 = all in-sync replicas'.
    public var requiredAcks: Int = 1
    public var compression: Compression = .none
    /// Idempotent producer: no duplicates from retries, order kept. Needs `requiredAcks = -1`.
    public var idempotent: Bool = false
    /// Retries of a failed produce request; 0 disables retries.
    public var maxRetries: Int = 3
    /// Bytes librdkafka may hold in its queue before `send` reports busy.
    public var maxQueueBytes: Int = 64 << 20
    /// How long librdkafka keeps trying to deliver a message before reporting it failed.
    public var deliveryTimeout: Duration = .seconds(300)
    /// Any other librdkafka property, passed through as is (e.g. `security.protocol`, `ssl.ca.location`).
    /// Properties that a field above sets are refused here, so that there is one place to set each.
    public var properties: [String: String] = [:]

    public init(brokers: [String], topic: String) {
        self.brokers = brokers
        self.topic = topic
    }

    /// Properties that fields of this type own, with the field to use instead.
    static let ownedProperties: [String: String] = [
        "bootstrap.servers": "brokers", "metadata.broker.list": "brokers",
        "batch.num.messages": "batchSize", "linger.ms": "flushInterval", "queue.buffering.max.ms": "flushInterval",
        "client.id": "clientID", "acks": "requiredAcks", "request.required.acks": "requiredAcks",
        "compression.codec": "compression", "compression.type": "compression",
        "enable.idempotence": "idempotent", "retries": "maxRetries", "message.send.max.retries": "maxRetries",
        "queue.buffering.max.kbytes": "maxQueueBytes", "message.timeout.ms": "deliveryTimeout",
        "delivery.timeout.ms": "deliveryTimeout",
    ]

    /// Checks every field and returns librdkafka's properties; the error says what to change.
    public func librdkafkaProperties() throws(FeedbackError) -> [String: String] {
        let brokerList = brokers.map { $0.trimmingWhitespace() }.filter { !$0.isEmpty }
        if brokerList.isEmpty {
            throw .invalidConfiguration("brokers is empty: give at least one broker address, e.g. [\"localhost:9092\"]")
        }
        if topic.trimmingWhitespace().isEmpty {
            throw .invalidConfiguration("topic is empty: name the Kafka topic to write feedback to")
        }
        if batchSize < 1 || batchSize > 1_000_000 {
            throw .invalidConfiguration("batchSize is \(batchSize): use 1...1000000 (default 100)")
        }
        let lingerMs = Self.milliseconds(flushInterval)
        if flushInterval < .zero || lingerMs > 900_000 {
            throw .invalidConfiguration("flushInterval is \(flushInterval): use 0...900 seconds (default 1 s)")
        }
        guard [0, 1, -1].contains(requiredAcks) else {
            throw .invalidConfiguration(
                "requiredAcks is \(requiredAcks): use 0 (none), 1 (leader) or -1 (all in-sync replicas)")
        }
        if idempotent && requiredAcks != -1 {
            throw .invalidConfiguration(
                "idempotent needs requiredAcks = -1 (all): set requiredAcks to -1, or idempotent to false")
        }
        if maxRetries < 0 {
            throw .invalidConfiguration("maxRetries is \(maxRetries): use 0 (no retries) or more (default 3)")
        }
        if maxQueueBytes < 1024 {
            throw .invalidConfiguration("maxQueueBytes is \(maxQueueBytes): use at least 1024 (default 64 MiB)")
        }
        if deliveryTimeout <= .zero {
            throw .invalidConfiguration(
                "deliveryTimeout is \(deliveryTimeout): use a positive duration (default 300 s)")
        }
        if Self.milliseconds(deliveryTimeout) <= lingerMs {
            throw .invalidConfiguration(
                "deliveryTimeout (\(deliveryTimeout)) must be longer than flushInterval (\(flushInterval)): "
                    + "raise deliveryTimeout or lower flushInterval")
        }
        if clientID.isEmpty {
            throw .invalidConfiguration("clientID is empty: name this client (default \"reckit-feedback-collector\")")
        }
        for key in properties.keys.sorted() {
            if let field = Self.ownedProperties[key] {
                throw .invalidConfiguration("property '\(key)' is set by the field '\(field)': set that field instead")
            }
        }
        var result = properties
        result["bootstrap.servers"] = brokerList.joined(separator: ",")
        result["batch.num.messages"] = String(batchSize)
        result["linger.ms"] = String(lingerMs)
        result["client.id"] = clientID
        result["acks"] = String(requiredAcks)
        result["compression.codec"] = compression.rawValue
        result["enable.idempotence"] = idempotent ? "true" : "false"
        result["message.send.max.retries"] = String(maxRetries)
        result["queue.buffering.max.kbytes"] = String(max(1, maxQueueBytes / 1024))
        result["message.timeout.ms"] = String(Self.milliseconds(deliveryTimeout))
        // librdkafka backs off reconnecting up to 10 s; an outage should end within a second of the broker's
        // return (the Java client's default cap). (A pass-through property of the same name wins.)
        if result["reconnect.backoff.max.ms"] == nil { result["reconnect.backoff.max.ms"] = "1000" }
        return result
    }

    static func milliseconds(_ duration: Duration) -> Int64 {
        let (seconds, attoseconds) = duration.components
        return seconds * 1000 + attoseconds / 1_000_000_000_000_000
    }
}

extension String {
    fileprivate func trimmingWhitespace() -> String {
        String(drop(while: \.isWhitespace).reversed().drop(while: \.isWhitespace).reversed())
    }
}
