import Feedback
import Foundation
import Synchronization

/// Ships the spool through the transport on its own thread: in batches, oldest first, each acknowledged
/// (deleted from the spool) only once every event of it is delivered. While the destination is down it only
/// probes it (``FallbackCapableTransport/isReachable(timeout:)`` every `probeInterval`); while the transport
/// holds many live events it waits, so live traffic goes first. An event the destination refuses for good
/// (over the broker's size limit, say) cannot block the ones behind it: once a batch's only failures are
/// such refusals, the batch is acknowledged and each refused event is counted (`replayRefused`) and logged
/// with its spool offset and reason.
final class SpoolReplayer: @unchecked Sendable {
    // @unchecked Sendable: the thread's loop state is confined to that thread; shared fields are atomics,
    // semaphores, or immutable.
    private let transport: any FallbackCapableTransport
    private let spool: Spool
    private let configuration: SpoolConfiguration
    private let batchDeadline: Duration
    private let running = Atomic<Bool>(false)
    private let stopping = Atomic<Bool>(false)
    private let wakeUp = DispatchSemaphore(value: 0)
    private let finished = DispatchSemaphore(value: 0)
    private let outstanding = Atomic<Int>(0)
    /// Signalled when the last outstanding report of a batch arrives.
    private let drained = DispatchSemaphore(value: 0)
    private let batchFailures = Atomic<Int>(0)
    /// The current batch's events refused for good: index in the batch → reason.
    private let refusals = Mutex<[Int: String]>([:])
    /// Whether every event of the batch just sent has its outcome (replay thread only).
    private var lastBatchComplete = false

    init(transport: any FallbackCapableTransport, spool: Spool, configuration: SpoolConfiguration) {
        self.transport = transport
        self.spool = spool
        self.configuration = configuration
        self.batchDeadline = transport.deliveryTimeout + .seconds(5)
    }

    func start() {
        guard !running.exchange(true, ordering: .acquiringAndReleasing) else { return }
        let thread = Thread { [self] in
            run()
            finished.signal()
        }
        thread.name = "feedback.spool.replay"
        thread.start()
    }

    func wake() { wakeUp.signal() }

    /// Stops after the current batch's outstanding deliveries (bounded); unacknowledged records stay spooled.
    func stop() {
        guard running.load(ordering: .acquiring), !stopping.exchange(true, ordering: .acquiringAndReleasing)
        else { return }
        wakeUp.signal()
        finished.wait()
    }

    /// One replayed event's outcome, from the transport's threads: the event at `index` of the current
    /// batch failed (and whether for good), or was delivered (nil).
    func delivered(index: Int, failure: (reason: String, permanent: Bool)?) {
        if let failure {
            batchFailures.add(1, ordering: .relaxed)
            if failure.permanent { refusals.withLock { $0[index] = failure.reason } }
        }
        if outstanding.subtract(1, ordering: .releasing).newValue == 0 { drained.signal() }
    }

    private var isStopping: Bool { stopping.load(ordering: .acquiring) }

    private func run() {
        var nextProbe = ContinuousClock.now
        // The last batch delivered and not yet deleted from the spool: deleted while the next batch is in
        // flight (deleting, with its fsync, took as long as sending), so a crash before then only sends
        // those records again, as a crash between delivery and deletion always could.
        var delivered: (through: Int64, count: Int)?
        // Records are read after the last delivered one; the next batch is read while one is in flight.
        var readAfter: Int64 = 0
        var readAhead: [LogRecord] = []
        let batch = OutgoingBatch(capacity: configuration.replayBatch)
        while !isStopping {
            spool.flushBuffer()
            spool.updateGauges()
            if spool.isDown {
                acknowledge(&delivered)
                if ContinuousClock.now < nextProbe {
                    _ = wakeUp.wait(timeout: .now() + .milliseconds(50))
                    continue
                }
                nextProbe = ContinuousClock.now + configuration.probeInterval
                guard transport.isReachable(timeout: .seconds(1)) else { continue }
                spool.destinationAnswers()
            }
            if transport.inFlight > configuration.yieldAbove {
                acknowledge(&delivered)
                _ = wakeUp.wait(timeout: .now() + .milliseconds(5))
                continue
            }
            let records =
                readAhead.isEmpty
                ? (try? spool.log.read(after: readAfter, limit: configuration.replayBatch)) ?? [] : readAhead
            readAhead = []
            guard let last = records.last?.offset else {
                acknowledge(&delivered)
                _ = wakeUp.wait(timeout: .now() + .milliseconds(50))
                continue
            }
            let shipped = replay(records, in: batch) {
                acknowledge(&delivered)
                readAhead = (try? spool.log.read(after: last, limit: configuration.replayBatch)) ?? []
            }
            if let refused = shipped ? 0 : refusedForGood(records) {
                delivered = (last, records.count - refused)
                readAfter = last
            } else {
                readAhead = []
                if !isStopping {
                    spool.destinationDown(reason: "a replayed batch failed")
                    nextProbe = ContinuousClock.now + configuration.probeInterval
                }
            }
        }
        acknowledge(&delivered)
        spool.flushBuffer()
    }

    /// When every failure of the batch just sent was a refusal for good: how many, each refused record
    /// counted dropped and logged (the rest were delivered); else nil (the batch is sent again later).
    private func refusedForGood(_ records: [LogRecord]) -> Int? {
        let refused = refusals.withLock { $0 }
        guard lastBatchComplete, !refused.isEmpty, refused.count == batchFailures.load(ordering: .relaxed) else {
            return nil
        }
        for (index, reason) in refused.sorted(by: { $0.key < $1.key }) where index < records.count {
            spool.tracker?.refusedOnReplay(
                detail:
                    "spooled record \(records[index].offset) (\(records[index].payload.count) bytes) refused for good "
                    + "by the destination: \(reason)")
        }
        return refused.count
    }

    /// Deletes the delivered batch from the spool and counts it replayed.
    private func acknowledge(_ delivered: inout (through: Int64, count: Int)?) {
        guard let batch = delivered else { return }
        delivered = nil
        try? spool.log.acknowledge(through: batch.through)
        spool.tracker?.replayed(count: batch.count)
    }

    /// Sends one batch through the transport's batch path, runs `whileInFlight`, and waits for all the
    /// batch's outcomes; true when every event was delivered.
    private func replay(_ records: [LogRecord], in batch: OutgoingBatch, whileInFlight: () -> Void) -> Bool {
        batchFailures.store(0, ordering: .relaxed)
        refusals.withLock { $0.removeAll() }
        lastBatchComplete = false
        let deadline = ContinuousClock.now + batchDeadline
        batch.removeAll()
        for (index, record) in records.enumerated() {
            batch.append(
                key: record.key, payload: record.payload, token: TransportFallbackTokens.replayBit | UInt(index))
        }
        outstanding.add(records.count, ordering: .relaxed)
        var next = 0
        while true {
            next = transport.send(batch, from: next) { index, reason in
                // Rejected when handed over: for good, by the transport's contract.
                refusals.withLock { $0[index] = reason }
                outstanding.subtract(1, ordering: .relaxed)
                batchFailures.add(1, ordering: .relaxed)
            }
            guard next < batch.count else { break }
            // Full: wait for deliveries to make room.
            if isStopping || ContinuousClock.now > deadline {
                let left = (next..<batch.count).count { !batch.isTaken($0) }
                outstanding.subtract(left, ordering: .relaxed)
                return waitForOutstanding(until: ContinuousClock.now + .seconds(2)) && false
            }
            usleep(1000)
        }
        // Send now rather than after a linger, work meanwhile, then wait for the reports.
        _ = transport.flush(timeout: .zero)
        whileInFlight()
        let done = waitForOutstanding(until: deadline)
        lastBatchComplete = done
        return done && batchFailures.load(ordering: .relaxed) == 0
    }

    /// Waits for the batch's reports. (Not by flushing until done: `flush` waits for every event of the
    /// transport, the collector's live ones too, so it would sit out its whole timeout while events flow.)
    private func waitForOutstanding(until deadline: ContinuousClock.Instant) -> Bool {
        while outstanding.load(ordering: .acquiring) > 0 {
            if ContinuousClock.now > deadline { return false }
            if isStopping && ContinuousClock.now > deadline - batchDeadline + .seconds(2) { return false }
            // Send now rather than after a linger, then sleep until the last report or a short while.
            _ = transport.flush(timeout: .milliseconds(1))
            if outstanding.load(ordering: .acquiring) == 0 { break }
            _ = drained.wait(timeout: .now() + .milliseconds(10))
        }
        return true
    }
}
