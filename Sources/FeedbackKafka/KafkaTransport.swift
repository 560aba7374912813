import Feedback
import FeedbackLog
import Kafka
import Logging
import Synchronization

/// Sends feedback events to a Kafka topic through librdkafka, spooling to local disk what it cannot deliver.
///
/// Each event is one message, keyed by user id (else device id, else no key). librdkafka batches, compresses
/// and retries; every delivery report is counted on the collector's ``DeliveryTracker``. Without a spool,
/// a failed delivery is counted as failed with its librdkafka error name and logged (rate-limited). With a
/// ``SpoolConfiguration``, it is spooled instead and replayed when the brokers are back.
///
/// ```swift
/// let transport = try KafkaTransport(
///     configuration: KafkaConfiguration(brokers: ["localhost:9092"], topic: "feedback"),
///     spool: SpoolConfiguration(path: "feedback-data/spool.sqlite"))
/// let collector = try FeedbackCollector(transport: transport)
/// ```
public final class KafkaTransport: DurableTransport {
    /// Tokens of replayed messages have this bit set; live tokens are record times (monotonic nanoseconds).
    static let replayBit: UInt = 1 << (UInt.bitWidth - 1)

    private let producer: KafkaProducer
    private let state: TransportState
    private let replayer: SpoolReplayer?

    /// Validates `configuration` and creates the librdkafka producer (and the spool, if given). An
    /// unreachable broker is not an error here: events wait in librdkafka's bounded queue, then spool.
    public init(
        configuration: KafkaConfiguration, spool: SpoolConfiguration? = nil,
        logger: Logger = Logger(label: "feedback.kafka")
    ) throws(FeedbackError) {
        let properties = try configuration.librdkafkaProperties()
        if !KafkaProducer.libraryIsCurrent {
            logger.warning(
                """
                librdkafka \(KafkaProducer.libraryVersion) is older than 2.2 and cannot talk to some brokers: \
                run scripts/install-deps.sh and put .deps/lib on LD_LIBRARY_PATH
                """)
        }
        var spoolLog: LocalLog?
        if let spool {
            do {
                spoolLog = try LocalLog(
                    configuration: .init(
                        path: spool.path, maxBytes: spool.maxBytes, overflow: spool.overflow, sync: spool.sync))
            } catch {
                throw .invalidConfiguration("spool: \(error.message)")
            }
        }
        let state = TransportState(spool: spoolLog, log: RateLimitedLogger(logger: logger))
        do {
            producer = try KafkaProducer(
                topic: configuration.topic, properties: properties, logger: logger,
                onDeliveries: { reports in state.delivered(reports) },
                onError: { error in state.clientError(error) })
        } catch {
            throw .invalidConfiguration(error.message)
        }
        self.state = state
        if let spoolLog, let spool {
            let replayer = SpoolReplayer(
                producer: producer, spool: spoolLog, state: state, configuration: spool,
                deliveryTimeout: configuration.deliveryTimeout)
            _ = state.replayerReference.storeIfNil(replayer)
            self.replayer = replayer
        } else {
            self.replayer = nil
        }
    }

    public var name: String { "kafka" }

    /// The topic events go to.
    public var topic: String { producer.topic }

    /// Whether the transport believes every broker is unreachable (it then spools instead of producing).
    public var brokersDown: Bool { state.brokersDown.load(ordering: .relaxed) }

    public func start(tracker: DeliveryTracker) {
        _ = state.trackerReference.storeIfNil(tracker)
        replayer?.start()
    }

    public func send(key: UnsafeRawBufferPointer?, payload: UnsafeRawBufferPointer, token: UInt)
        -> TransportSendResult
    {
        if state.spool != nil && state.brokersDown.load(ordering: .relaxed) {
            state.spoolLater(key: key.map { Array($0) }, payload: Array(payload))
            return .accepted
        }
        switch producer.produce(key: key, value: payload, token: token) {
        case .enqueued:
            return .accepted
        case .queueFull:
            guard state.spool != nil else { return .busy }
            state.spoolLater(key: key.map { Array($0) }, payload: Array(payload))
            return .accepted
        case .failed(let error):
            guard state.spool != nil, !error.isPermanent else { return .rejected(reason: error.description) }
            state.spoolLater(key: key.map { Array($0) }, payload: Array(payload))
            return .accepted
        }
    }

    /// The whole batch in one librdkafka call (``KafkaProducer/produce(count:message:refused:full:)``); with a
    /// spool, what librdkafka cannot take now is spooled, as in ``send(key:payload:token:)``. Without one, a
    /// full queue returns the first event it had no room for, marking those after it that it took (the
    /// producer groups a batch by partition, so the full ones are not always the batch's last).
    public func send(_ batch: OutgoingBatch, from start: Int, rejected: (Int, String) -> Void) -> Int {
        let left = batch.hasTakenEvents ? (start..<batch.count).filter { !batch.isTaken($0) } : nil
        if state.spool != nil && state.brokersDown.load(ordering: .relaxed) {
            for index in start..<batch.count where !batch.isTaken(index) { spoolLater(batch, index) }
            return batch.count
        }
        var full: [Int] = []
        batch.withMessages { message in
            producer.produce(
                count: left?.count ?? batch.count - start,
                message: { offset in
                    let (key, payload, token) = message(left?[offset] ?? start + offset)
                    return OutgoingMessage(key: key, value: payload, token: token)
                },
                refused: { offset, error in
                    let index = left?[offset] ?? start + offset
                    if state.spool != nil, !error.isPermanent {
                        spoolLater(batch, index)
                    } else {
                        rejected(index, error.description)
                    }
                },
                full: { offset in full.append(left?[offset] ?? start + offset) })
        }
        producer.serveReady()
        guard let firstFull = full.first else { return batch.count }
        guard state.spool != nil else {
            let notTaken = Set(full)
            for index in firstFull + 1..<batch.count where !batch.isTaken(index) && !notTaken.contains(index) {
                batch.markTaken(index)
            }
            return firstFull
        }
        // librdkafka's queue is full: those one by one, as `send(key:payload:token:)` does — each spooled
        // only if there is still no room (deliveries free room all the time).
        for index in full {
            let result = batch.withMessage(index) { key, payload, token in
                send(key: key, payload: payload, token: token)
            }
            if case .rejected(let reason) = result { rejected(index, reason) }
        }
        return batch.count
    }

    private func spoolLater(_ batch: OutgoingBatch, _ index: Int) {
        batch.withMessage(index) { key, payload, _ in
            state.spoolLater(key: key.map { Array($0) }, payload: Array(payload))
        }
    }

    public func batchDidEnd() { state.flushSpoolBuffer() }

    public func flush(timeout: Duration) -> Bool {
        let done = producer.flush(timeout: timeout)
        state.flushSpoolBuffer()
        return done
    }

    public var supportsDurability: Bool { state.spool != nil }

    /// Durable mode: appends the events to the spool (one transaction) for the replayer to ship.
    public func persist(_ events: [EncodedEvent]) throws(FeedbackError) {
        guard let spool = state.spool else {
            throw .invalidConfiguration("durable mode needs a spool: pass a SpoolConfiguration to KafkaTransport")
        }
        do {
            try spool.append(events)
        } catch {
            throw .storage(error.message)
        }
        state.tracker?.spooled(count: events.count)
        replayer?.wake()
    }

    /// Stops replaying, purges what librdkafka still holds — spooled, with a spool, for the next start to
    /// replay; otherwise counted failed (`_PURGE_QUEUE`/`_PURGE_INFLIGHT`) — and destroys the producer.
    public func close() {
        replayer?.stop()
        producer.close()
        state.flushSpoolBuffer()
        state.updateGauges()
    }
}

/// What the transport's callbacks (on librdkafka's threads), its sender-side calls and its replayer share.
final class TransportState: Sendable {
    let spool: LocalLog?
    let log: RateLimitedLogger
    /// Set once by `start`, read on every delivery report (lock-free).
    let trackerReference = AtomicLazyReference<DeliveryTracker>()
    var tracker: DeliveryTracker? { trackerReference.load() }
    /// Set once at init when there is a spool; read on every replayed message's report (lock-free).
    let replayerReference = AtomicLazyReference<SpoolReplayer>()
    let brokersDown = Atomic<Bool>(false)
    private let spoolBuffer = Mutex<[LogEntry]>([])
    private let spoolFlushLock = Mutex<Void>(())

    init(spool: LocalLog?, log: RateLimitedLogger) {
        self.spool = spool
        self.log = log
    }

    /// A batch of delivery reports: the collector's acknowledged events are counted in one go (one counter
    /// update and one clock reading for the batch); replays and failures are handled one by one.
    func delivered(_ reports: [DeliveryReport]) {
        var acknowledged: [UInt] = []
        acknowledged.reserveCapacity(reports.count)
        for report in reports {
            if report.token & KafkaTransport.replayBit != 0 {
                replayerReference.load()?.delivered(report)
            } else if report.error == nil {
                acknowledged.append(report.token)
            } else {
                failed(report)
            }
        }
        guard !acknowledged.isEmpty, let tracker else { return }
        if brokersDown.load(ordering: .relaxed) { brokersDown.store(false, ordering: .relaxed) }
        tracker.delivered(tokens: acknowledged)
    }

    private func failed(_ report: DeliveryReport) {
        guard let tracker, let error = report.error else { return }
        if spool != nil, !error.isPermanent, let payload = report.payload {
            if !error.isPurged { markDown(because: error) }
            spoolLater(key: report.key, payload: payload)
            return
        }
        log.error(key: "delivery:" + error.name, "Kafka delivery failed", metadata: ["error": "\(error)"])
        tracker.failed(token: report.token, reason: error.name)
    }

    func clientError(_ error: KafkaError) {
        log.warning(key: "client:" + error.name, "Kafka client error", metadata: ["error": "\(error)"])
        if error.isAllBrokersDown { markDown(because: error) }
    }

    func markDown(because error: KafkaError) {
        if spool != nil, !brokersDown.exchange(true, ordering: .relaxed) {
            log.warning(
                key: "down", "Kafka brokers unreachable: spooling events until they are back",
                metadata: ["error": "\(error)"])
        }
    }

    /// Queues an event for the spool; committed in groups (here when the group is large, otherwise at the
    /// end of the collector's batch, on flush, by the replayer's tick and at close).
    func spoolLater(key: [UInt8]?, payload: [UInt8]) {
        let count = spoolBuffer.withLock {
            $0.append(LogEntry(key: key, payload: payload))
            return $0.count
        }
        if count >= 1024 { flushSpoolBuffer() }
    }

    func flushSpoolBuffer() {
        guard let spool else { return }
        spoolFlushLock.withLock { _ in
            let entries = spoolBuffer.withLock { buffer in
                defer { buffer.removeAll(keepingCapacity: true) }
                return buffer
            }
            guard !entries.isEmpty else { return }
            let tracker = self.tracker
            do {
                try spool.append(entries)
                tracker?.spooled(count: entries.count)
                replayerReference.load()?.wake()
            } catch {
                let full = (error as? LocalLogError)?.kind == .full
                tracker?.dropped(entries.count, reason: full ? .logFull : .storageError, detail: "\(error)")
            }
        }
    }

    func updateGauges() {
        guard let spool, let tracker, let statistics = try? spool.statistics() else {
            return
        }
        tracker.spoolEventsGauge.record(statistics.records)
        tracker.spoolBytesGauge.record(statistics.bytes)
    }
}

extension FeedbackCollector {
    /// A collector that sends to Kafka: the seed's `NewKafkaCollector`, plus an optional spool.
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
        try FeedbackCollector(
            transport: KafkaTransport(configuration: configuration, spool: spool, logger: logger),
            configuration: collector)
    }
}

extension KafkaTransport {
    /// Waits until the spool is empty (everything replayed) or `timeout` passes; true when empty.
    public func waitForSpoolDrained(timeout: Duration) async -> Bool {
        guard let spool = state.spool else { return true }
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            state.flushSpoolBuffer()
            if let statistics = try? spool.statistics(), statistics.records == 0 { return true }
            try? await Task.sleep(for: .milliseconds(20))
        }
        return false
    }
}
