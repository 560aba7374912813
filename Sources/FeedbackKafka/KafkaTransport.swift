import Feedback
import FeedbackLog
import Kafka
import Logging
import Synchronization

/// Sends feedback events to a Kafka topic through librdkafka.
///
/// Each event is one message, keyed by user id (else device id, else no key). librdkafka batches, compresses
/// and retries; every delivery report is counted on the collector's ``DeliveryTracker``. On its own, a failed
/// delivery is counted as failed with its librdkafka error name and logged (rate-limited). Behind a
/// `SpoolingTransport` (its ``TransportFallback``), what fails for a reason a retry can fix, what finds the
/// queue full and everything while all brokers are down is spooled instead and replayed when they are back.
///
/// ```swift
/// let transport = try SpoolingTransport(
///     wrapping: KafkaTransport(configuration: KafkaConfiguration(brokers: ["localhost:9092"], topic: "feedback")),
///     spool: SpoolConfiguration(path: "feedback-data/spool.sqlite"))
/// let collector = try FeedbackCollector(transport: transport)
/// ```
public final class KafkaTransport: FallbackCapableTransport {
    private let producer: KafkaProducer
    private let state: TransportState
    public let deliveryTimeout: Duration

    /// Validates `configuration` and creates the librdkafka producer. An unreachable broker is not an error
    /// here: events wait in librdkafka's bounded queue (and, behind a spool, then spool).
    public init(configuration: KafkaConfiguration, logger: Logger = Logger(label: "feedback.kafka"))
        throws(FeedbackError)
    {
        let properties = try configuration.librdkafkaProperties()
        if !KafkaProducer.libraryIsCurrent {
            logger.warning(
                """
                librdkafka \(KafkaProducer.libraryVersion) is older than 2.2 and cannot talk to some brokers: \
                run scripts/install-deps.sh and put .deps/lib on LD_LIBRARY_PATH
                """)
        }
        let state = TransportState(log: RateLimitedLogger(logger: logger))
        do {
            producer = try KafkaProducer(
                topic: configuration.topic, properties: properties, logger: logger,
                onDeliveries: { reports in state.delivered(reports) },
                onError: { error in state.clientError(error) })
        } catch {
            throw .invalidConfiguration(error.message)
        }
        self.state = state
        deliveryTimeout = configuration.deliveryTimeout
    }

    public var name: String { "kafka" }

    /// The topic events go to.
    public var topic: String { producer.topic }

    public func install(fallback: any TransportFallback) {
        _ = state.fallbackReference.storeIfNil(TransportFallbackReference(fallback))
        // librdkafka may have found every broker down already (a refused connection is reported within
        // the first milliseconds, before a spool could be installed): the fallback learns it now.
        if state.allBrokersDown.load(ordering: .sequentiallyConsistent) {
            fallback.destinationDown(reason: "all brokers down")
        }
    }

    public func isReachable(timeout: Duration) -> Bool { producer.isReachable(timeout: timeout) }

    public var inFlight: Int { producer.outstanding }

    public func start(tracker: DeliveryTracker) {
        _ = state.trackerReference.storeIfNil(tracker)
    }

    public func send(key: UnsafeRawBufferPointer?, payload: UnsafeRawBufferPointer, token: UInt)
        -> TransportSendResult
    {
        switch producer.produce(key: key, value: payload, token: token) {
        case .enqueued:
            return .accepted
        case .queueFull:
            return .busy
        case .failed(let error):
            guard let fallback = state.fallback(for: token), !error.isPermanent else {
                return .rejected(reason: error.description)
            }
            fallback.keep(key: key.map { Array($0) }, payload: Array(payload))
            return .accepted
        }
    }

    /// The whole batch in one librdkafka call (``KafkaProducer/produce(count:message:refused:full:)``). A full
    /// queue returns the first event it had no room for, marking those after it that it took (the producer
    /// groups a batch by partition, so the full ones are not always the batch's last).
    public func send(_ batch: OutgoingBatch, from start: Int, rejected: (Int, String) -> Void) -> Int {
        let left = batch.hasTakenEvents ? (start..<batch.count).filter { !batch.isTaken($0) } : nil
        var full: [Int] = []
        batch.withMessages { message in
            _ = producer.produce(
                count: left?.count ?? batch.count - start,
                message: { offset in
                    let (key, payload, token) = message(left?[offset] ?? start + offset)
                    return OutgoingMessage(key: key, value: payload, token: token)
                },
                refused: { offset, error in
                    let index = left?[offset] ?? start + offset
                    let (key, payload, token) = message(index)
                    if let fallback = state.fallback(for: token), !error.isPermanent {
                        fallback.keep(key: key.map { Array($0) }, payload: Array(payload))
                    } else {
                        rejected(index, error.description)
                    }
                },
                full: { offset in full.append(left?[offset] ?? start + offset) })
        }
        producer.serveReady()
        guard let firstFull = full.first else { return batch.count }
        let notTaken = Set(full)
        for index in firstFull + 1..<batch.count where !batch.isTaken(index) && !notTaken.contains(index) {
            batch.markTaken(index)
        }
        return firstFull
    }

    public func flush(timeout: Duration) -> Bool { producer.flush(timeout: timeout) }

    /// Purges what librdkafka still holds — handed to the fallback, if there is one (a spool keeps it for the
    /// next start to replay); otherwise counted failed (`_PURGE_QUEUE`/`_PURGE_INFLIGHT`) — and destroys the
    /// producer.
    public func close() { producer.close() }
}

/// What the transport's callbacks (on librdkafka's threads) and its sender-side calls share.
final class TransportState: Sendable {
    let log: RateLimitedLogger
    /// Set once by `start`, read on every delivery report (lock-free).
    let trackerReference = AtomicLazyReference<DeliveryTracker>()
    var tracker: DeliveryTracker? { trackerReference.load() }
    /// Set once, before `start`, when a spool sits in front (lock-free reads).
    let fallbackReference = AtomicLazyReference<TransportFallbackReference>()
    /// librdkafka's last word on the brokers was "all down" (until a delivery succeeds).
    let allBrokersDown = Atomic<Bool>(false)

    init(log: RateLimitedLogger) {
        self.log = log
    }

    /// The fallback that keeps a live event a retry could deliver; nil for replayed events (their outcome goes
    /// to the fallback as a failure, never back into the spool) or without a fallback.
    func fallback(for token: UInt) -> (any TransportFallback)? {
        token & TransportFallbackTokens.replayBit != 0 ? nil : fallbackReference.load()?.fallback
    }

    /// A batch of delivery reports: the collector's acknowledged events are counted in one go (one counter
    /// update and one clock reading for the batch); replays and failures are handled one by one.
    func delivered(_ reports: [DeliveryReport]) {
        var acknowledged: [UInt] = []
        acknowledged.reserveCapacity(reports.count)
        let fallback = fallbackReference.load()?.fallback
        for report in reports {
            if report.token & TransportFallbackTokens.replayBit != 0 {
                fallback?.replayed(
                    token: report.token, failure: report.error?.description,
                    permanent: report.error?.isPermanent ?? false)
            } else if report.error == nil {
                acknowledged.append(report.token)
            } else {
                failed(report, fallback: fallback)
            }
        }
        guard !acknowledged.isEmpty, let tracker else { return }
        if allBrokersDown.load(ordering: .relaxed) { allBrokersDown.store(false, ordering: .relaxed) }
        fallback?.destinationUp()
        tracker.delivered(tokens: acknowledged)
    }

    private func failed(_ report: DeliveryReport, fallback: (any TransportFallback)?) {
        guard let tracker, let error = report.error else { return }
        if let fallback, !error.isPermanent, let payload = report.payload {
            if !error.isPurged { fallback.destinationDown(reason: error.description) }
            fallback.keep(key: report.key, payload: payload)
            return
        }
        log.error(key: "delivery:" + error.name, "Kafka delivery failed", metadata: ["error": "\(error)"])
        tracker.failed(token: report.token, reason: error.name)
    }

    func clientError(_ error: KafkaError) {
        log.warning(key: "client:" + error.name, "Kafka client error", metadata: ["error": "\(error)"])
        guard error.isAllBrokersDown else { return }
        // Stored before the fallback is read, as `install` stores the fallback before reading this: one of
        // the two sees the other.
        allBrokersDown.store(true, ordering: .sequentiallyConsistent)
        fallbackReference.load()?.fallback.destinationDown(reason: error.description)
    }
}

extension FeedbackCollector {
    /// A collector that sends to Kafka: the seed's `NewKafkaCollector`, plus an optional spool in front.
    ///
    /// ```swift
    /// let collector = try FeedbackCollector.kafka(
    ///     KafkaConfiguration(brokers: ["localhost:9092"], topic: "feedback-topic"),
    ///     spool: SpoolConfiguration(path: "feedback-data/spool.sqlite"))
    /// ```
    public static func kafka(
        _ configuration: KafkaConfiguration, spool: SpoolConfiguration? = nil,
        collector: FeedbackCollector.Configuration = .init(), logger: Logger = Logger(label: "feedback.kafka")
    ) throws(FeedbackError) -> FeedbackCollector {
        let kafka = try KafkaTransport(configuration: configuration, logger: logger)
        guard let spool else { return try FeedbackCollector(transport: kafka, configuration: collector) }
        return try FeedbackCollector(
            transport: SpoolingTransport(wrapping: kafka, spool: spool, logger: logger), configuration: collector)
    }
}
