import Feedback
import Kafka
import Logging
import Synchronization

/// Sends feedback events to a Kafka topic through librdkafka.
///
/// Each event is one message, keyed by user id (else device id, else no key). librdkafka batches, compresses
/// and retries; its delivery reports are counted on the collector's ``DeliveryTracker``: every failure with
/// its librdkafka error name, and logged (rate-limited) with librdkafka's reason.
///
/// ```swift
/// let transport = try KafkaTransport(configuration: KafkaConfiguration(brokers: ["localhost:9092"], topic: "feedback"))
/// let collector = try FeedbackCollector(transport: transport)
/// ```
public final class KafkaTransport: FeedbackTransport {
    private let producer: KafkaProducer
    private let tracker: TrackerSlot
    private let log: RateLimitedLogger

    /// Validates `configuration` and creates the librdkafka producer. An unreachable broker is not an
    /// error here: events wait in librdkafka's bounded queue and fail after `deliveryTimeout`.
    public init(configuration: KafkaConfiguration, logger: Logger = Logger(label: "feedback.kafka"))
        throws(FeedbackError)
    {
        let properties = try configuration.librdkafkaProperties()
        let tracker = TrackerSlot()
        let log = RateLimitedLogger(logger: logger)
        if !KafkaProducer.libraryIsCurrent {
            logger.warning(
                """
                librdkafka \(KafkaProducer.libraryVersion) is older than 2.2 and cannot talk to some brokers: \
                run scripts/install-deps.sh and put .deps/lib on LD_LIBRARY_PATH
                """)
        }
        do {
            producer = try KafkaProducer(
                topic: configuration.topic, properties: properties, logger: logger,
                onDelivery: { report in
                    guard let tracker = tracker.value else { return }
                    if let error = report.error {
                        log.error(
                            key: "delivery:" + error.name, "Kafka delivery failed",
                            metadata: ["error": "\(error)"])
                        tracker.failed(token: report.token, reason: error.name)
                    } else {
                        tracker.delivered(token: report.token)
                    }
                },
                onError: { error in
                    log.warning(key: "client:" + error.name, "Kafka client error", metadata: ["error": "\(error)"])
                })
        } catch {
            throw .invalidConfiguration(error.message)
        }
        self.tracker = tracker
        self.log = log
    }

    public var name: String { "kafka" }

    /// The topic events go to.
    public var topic: String { producer.topic }

    public func start(tracker: DeliveryTracker) {
        self.tracker.set(tracker)
    }

    public func send(key: UnsafeRawBufferPointer?, payload: UnsafeRawBufferPointer, token: UInt)
        -> TransportSendResult
    {
        switch producer.produce(key: key, value: payload, token: token) {
        case .enqueued: return .accepted
        case .queueFull: return .busy
        case .failed(let error): return .rejected(reason: error.description)
        }
    }

    public func flush(timeout: Duration) -> Bool {
        producer.flush(timeout: timeout)
    }

    /// Purges what librdkafka still holds (each reported failed, `_PURGE_QUEUE`/`_PURGE_INFLIGHT`) and
    /// destroys the producer. The collector flushes before calling this.
    public func close() {
        producer.close()
    }
}

/// The tracker handed over in `start`, read on librdkafka's poll thread.
private final class TrackerSlot: Sendable {
    private let slot = Mutex<DeliveryTracker?>(nil)
    var value: DeliveryTracker? { slot.withLock { $0 } }
    func set(_ tracker: DeliveryTracker) { slot.withLock { $0 = tracker } }
}

extension FeedbackCollector {
    /// A collector that sends to Kafka: the seed's `NewKafkaCollector`.
    ///
    /// ```swift
    /// let collector = try FeedbackCollector.kafka(KafkaConfiguration(brokers: ["localhost:9092"], topic: "feedback-topic"))
    /// ```
    public static func kafka(
        _ configuration: KafkaConfiguration, collector: FeedbackCollector.Configuration = .init(),
        logger: Logger = Logger(label: "feedback.kafka")
    ) throws(FeedbackError) -> FeedbackCollector {
        try FeedbackCollector(
            transport: KafkaTransport(configuration: configuration, logger: logger), configuration: collector)
    }
}
