import Feedback
import FeedbackLog
import Foundation
import Kafka
import Synchronization

/// Ships the spool to Kafka on its own thread: in batches, oldest first, each acknowledged (deleted from the
/// spool) only once every message of it is delivered. While the brokers are down it only probes them
/// (a metadata request every `probeInterval`); while librdkafka holds many live messages it waits, so
/// live traffic goes first.
final class SpoolReplayer: @unchecked Sendable {
    // @unchecked Sendable: the thread's loop state is confined to that thread; shared fields are atomics,
    // a semaphore, or immutable.
    private let producer: KafkaProducer
    private let spool: LocalLog
    private let state: TransportState
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

    init(
        producer: KafkaProducer, spool: LocalLog, state: TransportState, configuration: SpoolConfiguration,
        deliveryTimeout: Duration
    ) {
        self.producer = producer
        self.spool = spool
        self.state = state
        self.configuration = configuration
        self.batchDeadline = deliveryTimeout + .seconds(5)
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

    func delivered(_ report: DeliveryReport) {
        if report.error != nil { batchFailures.add(1, ordering: .relaxed) }
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
        while !isStopping {
            state.flushSpoolBuffer()
            state.updateGauges()
            if state.brokersDown.load(ordering: .relaxed) {
                acknowledge(&delivered)
                if ContinuousClock.now < nextProbe {
                    _ = wakeUp.wait(timeout: .now() + .milliseconds(50))
                    continue
                }
                nextProbe = ContinuousClock.now + configuration.probeInterval
                guard producer.isReachable(timeout: .seconds(1)) else { continue }
                state.brokersDown.store(false, ordering: .relaxed)
                state.log.warning(key: "up", "Kafka brokers reachable again: replaying the spool")
            }
            if producer.outstanding > configuration.yieldAbove {
                acknowledge(&delivered)
                _ = wakeUp.wait(timeout: .now() + .milliseconds(5))
                continue
            }
            let records =
                readAhead.isEmpty
                ? (try? spool.read(after: readAfter, limit: configuration.replayBatch)) ?? [] : readAhead
            readAhead = []
            guard let last = records.last?.offset else {
                acknowledge(&delivered)
                _ = wakeUp.wait(timeout: .now() + .milliseconds(50))
                continue
            }
            let shipped = replay(records) {
                acknowledge(&delivered)
                readAhead = (try? spool.read(after: last, limit: configuration.replayBatch)) ?? []
            }
            if shipped {
                delivered = (last, records.count)
                readAfter = last
            } else {
                readAhead = []
                if !isStopping {
                    state.markDown(
                        because: KafkaError(code: -1, name: "_REPLAY_FAILED", message: "a replayed batch failed"))
                    nextProbe = ContinuousClock.now + configuration.probeInterval
                }
            }
        }
        acknowledge(&delivered)
        state.flushSpoolBuffer()
    }

    /// Deletes the delivered batch from the spool and counts it replayed.
    private func acknowledge(_ delivered: inout (through: Int64, count: Int)?) {
        guard let batch = delivered else { return }
        delivered = nil
        try? spool.acknowledge(through: batch.through)
        state.tracker?.replayed(count: batch.count)
    }

    /// Produces one batch, runs `whileInFlight`, and waits for all the batch's delivery reports; true when
    /// every message was delivered.
    private func replay(_ records: [LogRecord], whileInFlight: () -> Void) -> Bool {
        batchFailures.store(0, ordering: .relaxed)
        let deadline = ContinuousClock.now + batchDeadline
        // Keys and payloads back to back in one buffer, handed to librdkafka in as few `produce_batch`
        // calls as its queue allows (one topic lock and clock reading per call).
        var bytes: [UInt8] = []
        bytes.reserveCapacity(records.reduce(0) { $0 + $1.payload.count + ($1.key?.count ?? 0) })
        var spans: [(key: Range<Int>?, payload: Range<Int>)] = []
        spans.reserveCapacity(records.count)
        for record in records {
            var key: Range<Int>?
            if let recordKey = record.key {
                key = bytes.count..<bytes.count + recordKey.count
                bytes.append(contentsOf: recordKey)
            }
            let payload = bytes.count..<bytes.count + record.payload.count
            bytes.append(contentsOf: record.payload)
            spans.append((key, payload))
        }
        outstanding.add(records.count, ordering: .relaxed)
        var left = Array(records.indices)
        let produced: Bool = bytes.withUnsafeBytes { buffer in
            while !left.isEmpty {
                var full: [Int] = []
                producer.produce(
                    count: left.count,
                    message: { offset in
                        let span = spans[left[offset]]
                        return OutgoingMessage(
                            key: span.key.map { UnsafeRawBufferPointer(rebasing: buffer[$0]) },
                            value: UnsafeRawBufferPointer(rebasing: buffer[span.payload]),
                            token: KafkaTransport.replayBit | UInt(left[offset]))
                    },
                    refused: { _, _ in
                        outstanding.subtract(1, ordering: .relaxed)
                        batchFailures.add(1, ordering: .relaxed)
                    },
                    full: { offset in full.append(left[offset]) })
                left = full
                guard !left.isEmpty else { break }
                // Queue full: wait for deliveries to make room.
                if isStopping || ContinuousClock.now > deadline {
                    outstanding.subtract(left.count, ordering: .relaxed)
                    return false
                }
                usleep(1000)
            }
            return true
        }
        guard produced else { return waitForOutstanding(until: ContinuousClock.now + .seconds(2)) && false }
        // Send now rather than after linger.ms, work meanwhile, then wait for the reports.
        _ = producer.flush(timeout: .zero)
        whileInFlight()
        let done = waitForOutstanding(until: deadline)
        return done && batchFailures.load(ordering: .relaxed) == 0
    }

    /// Waits for the batch's reports. (Not by flushing until done: `flush` waits for every message of the
    /// producer, the collector's live ones too, so it would sit out its whole timeout while events flow.)
    private func waitForOutstanding(until deadline: ContinuousClock.Instant) -> Bool {
        while outstanding.load(ordering: .acquiring) > 0 {
            if ContinuousClock.now > deadline { return false }
            if isStopping && ContinuousClock.now > deadline - batchDeadline + .seconds(2) { return false }
            // Send now rather than after linger.ms, then sleep until the last report or a short while.
            _ = producer.flush(timeout: .milliseconds(1))
            if outstanding.load(ordering: .acquiring) == 0 { break }
            _ = drained.wait(timeout: .now() + .milliseconds(10))
        }
        return true
    }
}
