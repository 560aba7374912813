import Feedback
import FeedbackLog
import Foundation
import Kafka
import Synchronization

/// Ships the spool to Kafka on its own thread: in batches, oldest first, each acknowledged (deleted from the
/// spool) only once every message of it and of the batches before it is delivered. Two batches are in flight
/// at a time, so that reading and acknowledging one overlaps the other's round trip to the broker; a failed
/// batch stops the pipeline and everything after the last acknowledged batch is sent again once the
/// brokers are back (at least once). While the brokers are down it only probes them
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
    /// Per pipeline slot (a token's bit 32): messages without a delivery report, and failed ones.
    private let outstanding0 = Atomic<Int>(0)
    private let outstanding1 = Atomic<Int>(0)
    private let failures0 = Atomic<Int>(0)
    private let failures1 = Atomic<Int>(0)

    private func outstanding(_ slot: Int) -> Int {
        slot == 0 ? outstanding0.load(ordering: .acquiring) : outstanding1.load(ordering: .acquiring)
    }

    private func addOutstanding(_ slot: Int, _ delta: Int) {
        if slot == 0 {
            outstanding0.add(delta, ordering: .releasing)
        } else {
            outstanding1.add(delta, ordering: .releasing)
        }
    }

    private func failures(_ slot: Int) -> Int {
        slot == 0 ? failures0.load(ordering: .relaxed) : failures1.load(ordering: .relaxed)
    }

    private func addFailure(_ slot: Int) {
        if slot == 0 { failures0.add(1, ordering: .relaxed) } else { failures1.add(1, ordering: .relaxed) }
    }

    private func resetFailures(_ slot: Int) {
        if slot == 0 { failures0.store(0, ordering: .relaxed) } else { failures1.store(0, ordering: .relaxed) }
    }

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
        let slot = Int((report.token >> 32) & 1)
        if report.error != nil { addFailure(slot) }
        addOutstanding(slot, -1)
    }

    /// A batch produced and not yet acknowledged.
    private struct InFlight {
        var records: [LogRecord]
        var slot: Int
        var deadline: ContinuousClock.Instant
        /// Every message was handed to librdkafka (false: the queue stayed full or a message was refused).
        var produced: Bool
    }

    private var isStopping: Bool { stopping.load(ordering: .acquiring) }

    private func run() {
        var nextProbe = ContinuousClock.now
        var inFlight: [InFlight] = []
        while !isStopping {
            state.flushSpoolBuffer()
            state.updateGauges()
            if state.brokersDown.load(ordering: .relaxed) {
                if ContinuousClock.now < nextProbe {
                    _ = wakeUp.wait(timeout: .now() + .milliseconds(50))
                    continue
                }
                nextProbe = ContinuousClock.now + configuration.probeInterval
                guard producer.isReachable(timeout: .seconds(1)) else { continue }
                state.brokersDown.store(false, ordering: .relaxed)
                state.log.warning(key: "up", "Kafka brokers reachable again: replaying the spool")
            }
            // Keep two batches in flight, unless live traffic fills librdkafka's queue (it goes first).
            if inFlight.count < 2, producer.outstanding <= configuration.yieldAbove {
                let after = inFlight.last?.records.last?.offset ?? 0
                let records = (try? spool.read(after: after, limit: configuration.replayBatch)) ?? []
                let slot = inFlight.first.map { 1 - $0.slot } ?? 0
                // A slot is reused only once every report of its previous batch is in (they all come
                // within the delivery timeout), so that late reports never count toward a new batch.
                if !records.isEmpty, outstanding(slot) == 0 {
                    inFlight.append(produce(records, slot: slot))
                    continue
                }
            }
            guard let oldest = inFlight.first else {
                _ = wakeUp.wait(
                    timeout: .now() + .milliseconds(producer.outstanding > configuration.yieldAbove ? 5 : 50))
                continue
            }
            if outstanding(oldest.slot) > 0 && ContinuousClock.now < oldest.deadline {
                usleep(500)
                continue
            }
            inFlight.removeFirst()
            if oldest.produced && outstanding(oldest.slot) == 0 && failures(oldest.slot) == 0 {
                try? spool.acknowledge(through: oldest.records.last!.offset)
                state.tracker?.replayed(count: oldest.records.count)
                continue
            }
            // A failed batch: let the one behind it finish (bounded), then start again after the last
            // acknowledged batch once the brokers are back.
            if let next = inFlight.first { waitForOutstanding(slot: next.slot, until: next.deadline) }
            inFlight.removeAll()
            if !isStopping {
                state.markDown(
                    because: KafkaError(code: -1, name: "_REPLAY_FAILED", message: "a replayed batch failed"))
                nextProbe = ContinuousClock.now + configuration.probeInterval
            }
        }
        // Stopping: give what is in flight a bounded chance to be delivered and acknowledged.
        for batch in inFlight {
            let done = waitForOutstanding(
                slot: batch.slot, until: min(batch.deadline, ContinuousClock.now + .seconds(2)))
            guard done, batch.produced, failures(batch.slot) == 0 else { break }
            try? spool.acknowledge(through: batch.records.last!.offset)
            state.tracker?.replayed(count: batch.records.count)
        }
        state.flushSpoolBuffer()
    }

    /// Hands a batch to librdkafka under pipeline slot `slot` (whose previous batch is complete).
    private func produce(_ records: [LogRecord], slot: Int) -> InFlight {
        resetFailures(slot)
        let deadline = ContinuousClock.now + batchDeadline
        var produced = true
        for (index, record) in records.enumerated() {
            let token = KafkaTransport.replayBit | UInt(slot) << 32 | UInt(index)
            addOutstanding(slot, 1)
            while true {
                let result = record.payload.withUnsafeBytes { payload in
                    if let key = record.key {
                        return key.withUnsafeBytes { producer.produce(key: $0, value: payload, token: token) }
                    }
                    return producer.produce(key: nil, value: payload, token: token)
                }
                if result == .enqueued { break }
                if case .failed = result {
                    addOutstanding(slot, -1)
                    produced = false
                    break
                }
                // Queue full: wait for deliveries to make room.
                if isStopping || ContinuousClock.now > deadline {
                    addOutstanding(slot, -1)
                    return InFlight(records: records, slot: slot, deadline: deadline, produced: false)
                }
                usleep(1000)
            }
            if !produced { break }
        }
        return InFlight(records: records, slot: slot, deadline: deadline, produced: produced)
    }

    @discardableResult
    private func waitForOutstanding(slot: Int, until deadline: ContinuousClock.Instant) -> Bool {
        while outstanding(slot) > 0 {
            if ContinuousClock.now > deadline { return false }
            usleep(1000)
        }
        return true
    }
}
