import Feedback
import Logging
import Synchronization

/// Puts a spool on local disk in front of any ``FallbackCapableTransport``: nothing is dropped when the
/// destination is down or slow.
///
/// Events the transport cannot take now (its queue is full), events whose delivery fails for a reason a retry
/// can fix, and every event while the destination is down go to a ``LocalLog``; a replayer sends them through
/// the same transport when it answers again, unchanged (same `event_id`), in batches that yield to live
/// traffic. Replay is at least once: a batch interrupted by a crash or outage is sent again, so consumers
/// de-duplicate by `event_id`. In durable mode every event goes through the spool before `record` returns.
///
/// ```swift
/// let transport = try SpoolingTransport(
///     wrapping: KafkaTransport(configuration: KafkaConfiguration(brokers: ["localhost:9092"], topic: "feedback")),
///     spool: SpoolConfiguration(path: "feedback-data/spool.sqlite"))
/// let collector = try FeedbackCollector(transport: transport)
/// ```
public final class SpoolingTransport: DurableTransport {
    /// The transport events go to when it can take them.
    public let inner: any FallbackCapableTransport
    private let spool: Spool
    private let replayer: SpoolReplayer

    /// Opens (or creates) the spool at `configuration.path` and installs it as `inner`'s fallback.
    public init(
        wrapping inner: any FallbackCapableTransport, spool configuration: SpoolConfiguration,
        logger: Logger = Logger(label: "feedback.spool")
    ) throws(FeedbackError) {
        let log: LocalLog
        do {
            log = try LocalLog(
                configuration: .init(
                    path: configuration.path, maxBytes: configuration.maxBytes, overflow: configuration.overflow,
                    sync: configuration.sync))
        } catch {
            throw .invalidConfiguration("spool: \(error.message)")
        }
        self.inner = inner
        spool = Spool(log: log, logger: RateLimitedLogger(logger: logger))
        replayer = SpoolReplayer(transport: inner, spool: spool, configuration: configuration)
        spool.replayer = replayer
        inner.install(fallback: spool)
    }

    public var name: String { inner.name + "+spool" }

    /// Whether the destination is believed unreachable (events then go straight to the spool).
    public var destinationDown: Bool { spool.isDown }

    public func start(tracker: DeliveryTracker) {
        _ = spool.trackerReference.storeIfNil(tracker)
        inner.start(tracker: tracker)
        replayer.start()
    }

    public func send(key: UnsafeRawBufferPointer?, payload: UnsafeRawBufferPointer, token: UInt)
        -> TransportSendResult
    {
        if spool.isDown {
            spool.keep(key: key.map { Array($0) }, payload: Array(payload))
            return .accepted
        }
        let result = inner.send(key: key, payload: payload, token: token)
        guard result == .busy else { return result }
        spool.keep(key: key.map { Array($0) }, payload: Array(payload))
        return .accepted
    }

    /// The batch through the transport's own batch path; what it has no room for now is offered once more one
    /// by one (deliveries free room all the time) and spooled if there is still none.
    public func send(_ batch: OutgoingBatch, from start: Int, rejected: (Int, String) -> Void) -> Int {
        if spool.isDown {
            for index in start..<batch.count where !batch.isTaken(index) { keep(batch, index) }
            return batch.count
        }
        let taken = inner.send(batch, from: start, rejected: rejected)
        for index in taken..<batch.count where !batch.isTaken(index) {
            let result = batch.withMessage(index) { key, payload, token in
                send(key: key, payload: payload, token: token)
            }
            if case .rejected(let reason) = result { rejected(index, reason) }
        }
        return batch.count
    }

    private func keep(_ batch: OutgoingBatch, _ index: Int) {
        batch.withMessage(index) { key, payload, _ in spool.keep(key: key.map { Array($0) }, payload: Array(payload)) }
    }

    public func batchDidEnd() {
        inner.batchDidEnd()
        spool.flushBuffer()
    }

    public func flush(timeout: Duration) -> Bool {
        let done = inner.flush(timeout: timeout)
        spool.flushBuffer()
        return done
    }

    public var supportsDurability: Bool { true }

    /// Durable mode: appends the events to the spool (one transaction) for the replayer to ship.
    public func persist(_ events: [EncodedEvent]) throws(FeedbackError) {
        do {
            try spool.log.append(events)
        } catch {
            throw .storage(error.message)
        }
        spool.tracker?.spooled(count: events.count)
        replayer.wake()
    }

    /// Stops replaying, closes the transport — whatever it still held and gives back (a Kafka transport purges
    /// its queue) is spooled for the next start to replay — and commits the spool.
    public func close() {
        replayer.stop()
        inner.close()
        spool.flushBuffer()
        spool.updateGauges()
    }

    /// Waits until the spool is empty (everything replayed) or `timeout` passes; true when empty.
    ///
    /// ```swift
    /// let drained = await transport.waitForSpoolDrained(timeout: .seconds(30))
    /// ```
    public func waitForSpoolDrained(timeout: Duration) async -> Bool {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            spool.flushBuffer()
            if let statistics = try? spool.log.statistics(), statistics.records == 0 { return true }
            try? await Task.sleep(for: .milliseconds(20))
        }
        return false
    }
}

/// What the transport's callbacks (on its own threads), the sender-side calls and the replayer share: the
/// spool, its commit buffer, and whether the destination is down. It is the transport's fallback.
final class Spool: TransportFallback {
    let log: LocalLog
    let logger: RateLimitedLogger
    /// Set once by `start`, read on every kept event (lock-free).
    let trackerReference = AtomicLazyReference<DeliveryTracker>()
    var tracker: DeliveryTracker? { trackerReference.load() }
    private let replayerReference = AtomicLazyReference<SpoolReplayer>()
    var replayer: SpoolReplayer? {
        get { replayerReference.load() }
        set { if let newValue { _ = replayerReference.storeIfNil(newValue) } }
    }
    private let down = Atomic<Bool>(false)
    private let buffer = Mutex<[LogEntry]>([])
    private let flushLock = Mutex<Void>(())

    init(log: LocalLog, logger: RateLimitedLogger) {
        self.log = log
        self.logger = logger
    }

    var isDown: Bool { down.load(ordering: .relaxed) }

    /// Queues an event for the spool; committed in groups (here when the group is large, otherwise at the
    /// end of the collector's batch, on flush, by the replayer's tick and at close).
    func keep(key: [UInt8]?, payload: [UInt8]) {
        let count = buffer.withLock {
            $0.append(LogEntry(key: key, payload: payload))
            return $0.count
        }
        if count >= 1024 { flushBuffer() }
    }

    func destinationDown(reason: String) {
        if !down.exchange(true, ordering: .relaxed) {
            logger.warning(
                key: "down", "destination unreachable: spooling events until it is back",
                metadata: ["error": "\(reason)"])
        }
    }

    func destinationUp() {
        if down.load(ordering: .relaxed) { down.store(false, ordering: .relaxed) }
    }

    /// The replayer probed the destination and it answers.
    func destinationAnswers() {
        down.store(false, ordering: .relaxed)
        logger.warning(key: "up", "destination reachable again: replaying the spool")
    }

    func replayed(token: UInt, failure: String?, permanent: Bool) {
        replayer?.delivered(
            index: Int(token & ~TransportFallbackTokens.replayBit), failure: failure.map { ($0, permanent) })
    }

    func flushBuffer() {
        flushLock.withLock { _ in
            let entries = buffer.withLock { buffer in
                defer { buffer.removeAll(keepingCapacity: true) }
                return buffer
            }
            guard !entries.isEmpty else { return }
            let tracker = self.tracker
            do {
                try log.append(entries)
                tracker?.spooled(count: entries.count)
                replayer?.wake()
            } catch {
                tracker?.dropped(
                    entries.count, reason: (error as? LocalLogError)?.kind == .full ? .logFull : .storageError,
                    detail: "\(error)")
            }
        }
    }

    func updateGauges() {
        guard let tracker, let statistics = try? log.statistics() else { return }
        tracker.spoolEventsGauge.record(statistics.records)
        tracker.spoolBytesGauge.record(statistics.bytes)
    }
}
