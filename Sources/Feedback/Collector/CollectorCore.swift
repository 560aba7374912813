import Foundation
import Logging
import Pipeline
import Synchronization

/// The bounded buffer and the sender thread behind ``FeedbackCollector``.
///
/// One lock (an `NSCondition`, which also wakes the sender) guards the buffer; the sender swaps the whole
/// buffer out under the lock and encodes and sends outside it, so `record` contends only for an append.
final class CollectorCore: @unchecked Sendable {
    // @unchecked Sendable: every mutable field below is read and written only with `condition` locked;
    // the rest is immutable or atomic.
    /// One `record` call: an event, or a response's impressions (encoded item by item by the sender).
    ///
    /// A struct rather than an enum: the sender reads the event in place, and binding an enum's payload
    /// copied the whole event (a retain per string and dictionary, ~10 % of the sender's time).
    struct Entry: Sendable {
        /// The recorded event; a placeholder, never encoded, in a response's entry.
        var event: FeedbackEvent
        /// A response's impressions; nil for a single event.
        var response: Response?
        var enqueuedNanos: UInt64

        struct Response: Sendable {
            var context: RecommendContext
            var items: [Item]
            var timestampMs: Int64
        }

        static func event(_ event: consuming FeedbackEvent, enqueuedNanos: UInt64) -> Entry {
            Entry(event: event, response: nil, enqueuedNanos: enqueuedNanos)
        }

        static func impressions(
            _ context: RecommendContext, _ items: [Item], timestampMs: Int64, enqueuedNanos: UInt64
        ) -> Entry {
            Entry(
                event: placeholder,
                response: Response(context: context, items: items, timestampMs: timestampMs),
                enqueuedNanos: enqueuedNanos)
        }

        private static let placeholder = FeedbackEvent(type: .impression, itemID: "", timestampMs: 0)
    }

    let tracker: DeliveryTracker
    /// Durable mode's write path; nil in best-effort mode.
    let durable: DurableWriter?
    private let transport: any FeedbackTransport
    private let configuration: FeedbackCollector.Configuration
    private let condition = NSCondition()
    private let abandoned = Atomic<Bool>(false)
    private let senderDone = DispatchSemaphore(value: 0)

    // Guarded by `condition`. The sender swaps the whole array out and reads each entry in place (a copy
    // would retain every string and dictionary of the event, on the other core's cache lines; moving it out
    // copied its ~150 bytes twice), then destroys them all at once.
    private var entries: [Entry?] = []
    private var bufferedEvents = 0
    /// Approximate bytes of the buffered events: in `entries`, and in all (those the sender is encoding too).
    private var entriesBytes = 0
    private var bufferedBytes = 0
    private var acceptedEvents = 0
    private var processedEvents = 0
    private var closed = false
    private var stopping = false
    private var closeTransportOnExit = false
    private var senderExited = false

    init(transport: any FeedbackTransport, configuration: FeedbackCollector.Configuration) {
        self.transport = transport
        self.configuration = configuration
        self.tracker = DeliveryTracker(logger: configuration.logger)
        if configuration.durability == .durable, let durableTransport = transport as? any DurableTransport {
            durable = DurableWriter(
                transport: durableTransport, tracker: tracker, maxEventBytes: configuration.maxEventBytes)
        } else {
            durable = nil
        }
        entries.reserveCapacity(min(configuration.capacity, 4096))
        transport.start(tracker: tracker)
        let thread = Thread { [self] in runSender() }
        thread.name = "feedback.sender"
        thread.start()
    }

    var bufferedCount: Int { condition.withLock { bufferedEvents } }

    var statistics: CollectorStatistics {
        tracker.snapshot(buffered: condition.withLock { bufferedEvents })
    }

    func enqueue(_ entry: consuming Entry, count: Int, bytes: Int) throws(FeedbackError) {
        condition.lock()
        if closed {
            condition.unlock()
            tracker.dropped(count, reason: .closed)
            throw .closed
        }
        if bufferedEvents + count > configuration.capacity {
            condition.unlock()
            tracker.dropped(count, reason: .queueFull, detail: "capacity \(configuration.capacity)")
            throw .queueFull(capacity: configuration.capacity)
        }
        if bufferedBytes + bytes > configuration.maxBufferedBytes {
            let held = bufferedBytes
            condition.unlock()
            tracker.dropped(
                count, reason: .queueFull,
                detail:
                    "buffer holds \(held) bytes, this \(bytes) more (maxBufferedBytes \(configuration.maxBufferedBytes))"
            )
            throw .queueFull(capacity: configuration.capacity)
        }
        entries.append(.some(consume entry))
        entriesBytes += bytes
        bufferedBytes += bytes
        bufferedEvents += count
        acceptedEvents += count
        condition.signal()
        condition.unlock()
    }

    /// Refuses further events.
    func close() {
        condition.withLock { closed = true }
    }

    var isClosed: Bool { condition.withLock { closed } }

    func flush(timeout: Duration) async -> Bool {
        let deadline = ContinuousClock.now + timeout
        let target = condition.withLock { acceptedEvents }
        while condition.withLock({ processedEvents }) < target {
            if ContinuousClock.now >= deadline { return false }
            try? await Task.sleep(for: .milliseconds(1))
        }
        let remaining = deadline - ContinuousClock.now
        let transport = self.transport
        return await onDedicatedThread(name: "feedback.flush") {
            transport.flush(timeout: max(remaining, .zero))
        }
    }

    /// Ends the sender: with `abandon`, whatever is still buffered is dropped as `shutdown_timeout`;
    /// without, the sender drains the buffer first. Does not wait.
    func stop(abandon: Bool, closeTransport: Bool) {
        if abandon { abandoned.store(true, ordering: .releasing) }
        condition.withLock {
            closed = true
            stopping = true
            closeTransportOnExit = closeTransportOnExit || closeTransport
            condition.signal()
        }
    }

    /// Blocks until the sender thread has exited (and closed the transport).
    func waitForSender() {
        senderDone.wait()
        senderDone.signal()  // let any other waiter through too
    }

    private func runSender() {
        var generator = SplitMix64()
        let outgoing = OutgoingBatch(capacity: Self.outgoingBatchSize)
        var batch: [Entry?] = []
        while true {
            condition.lock()
            while entries.isEmpty && !stopping { condition.wait() }
            if entries.isEmpty {
                let closeTransport = closeTransportOnExit
                senderExited = true
                condition.unlock()
                if closeTransport {
                    if !abandoned.load(ordering: .acquiring) { _ = transport.flush(timeout: .seconds(5)) }
                    transport.close()
                }
                senderDone.signal()
                return
            }
            swap(&batch, &entries)
            let takenBytes = entriesBytes
            entriesBytes = 0
            condition.unlock()

            var count = 0
            for index in batch.indices {
                // Moved out, then borrowed: reading it in place, through the array, made the compiler copy
                // the event (a retain per string and dictionary), as binding an enum payload did.
                guard let entry = batch[index].take() else { continue }
                count += encode(entry, to: outgoing, generator: &generator)
            }
            send(outgoing)
            batch.removeAll(keepingCapacity: true)
            transport.batchDidEnd()
            let buffered = condition.withLock {
                bufferedEvents -= count
                bufferedBytes -= takenBytes
                processedEvents += count
                return bufferedEvents
            }
            tracker.bufferedGauge.record(buffered)
        }
    }

    /// Encodes `entry`; returns its number of events.
    private func encode(_ entry: borrowing Entry, to outgoing: OutgoingBatch, generator: inout SplitMix64) -> Int {
        guard let response = entry.response else {
            add(entry.event, enqueuedNanos: entry.enqueuedNanos, to: outgoing, generator: &generator)
            return 1
        }
        encode(
            response.items, context: response.context, timestampMs: response.timestampMs,
            enqueuedNanos: entry.enqueuedNanos, to: outgoing, generator: &generator)
        return response.items.count
    }

    /// Encodes the impressions of a response straight from its items (no event per item).
    private func encode(
        _ items: [Item], context: RecommendContext, timestampMs: Int64, enqueuedNanos: UInt64,
        to outgoing: OutgoingBatch, generator: inout SplitMix64
    ) {
        let key = context.partitionKey
        for (position, item) in items.enumerated() {
            let start = outgoing.payloadStart
            outgoing.buffer.impression(
                of: item, at: position, context: context, timestampMs: timestampMs,
                generator: &generator)
            commit(start, key: key, itemID: item.id, enqueuedNanos: enqueuedNanos, to: outgoing)
        }
    }

    /// Events per transport call: large enough to amortise librdkafka's per-call locking and clock
    /// readings, small enough to stay in cache (~150 KiB of JSON).
    static let outgoingBatchSize = 512

    /// Encodes `event` into `outgoing`, sending the batch when it is full.
    private func add(
        _ event: FeedbackEvent, enqueuedNanos: UInt64, to outgoing: OutgoingBatch, generator: inout SplitMix64
    ) {
        let start = outgoing.payloadStart
        outgoing.buffer.event(event, generator: &generator)
        commit(start, key: event.partitionKey, itemID: event.itemID, enqueuedNanos: enqueuedNanos, to: outgoing)
    }

    /// Ends the event encoded from `start` (dropping it, counted, when over `maxEventBytes`) and sends the
    /// batch when it is full.
    private func commit(_ start: Int, key: String?, itemID: String, enqueuedNanos: UInt64, to outgoing: OutgoingBatch) {
        let size = outgoing.buffer.count - start
        if size > configuration.maxEventBytes {
            outgoing.discard(payloadStart: start)
            tracker.dropped(
                1, reason: .tooLarge,
                detail: FeedbackEvent.tooLargeDetail(itemID: itemID, size: size, limit: configuration.maxEventBytes))
            return
        }
        outgoing.commit(payloadStart: start, key: key, token: UInt(enqueuedNanos))
        if outgoing.count >= Self.outgoingBatchSize { send(outgoing) }
    }

    /// Hands the batch to the transport, retrying what it is too busy to take until it does or shutdown
    /// abandons the rest (counted as `shutdown_timeout`).
    private func send(_ outgoing: OutgoingBatch) {
        defer { outgoing.removeAll() }
        var start = 0
        var accepted = outgoing.count
        while start < outgoing.count {
            if abandoned.load(ordering: .relaxed) {
                let left = (start..<outgoing.count).count { !outgoing.isTaken($0) }
                accepted -= left
                tracker.dropped(
                    left, reason: .shutdownTimeout,
                    detail: start == 0
                        ? "still buffered when shutdown's timeout passed" : "transport still full at shutdown")
                break
            }
            let taken = transport.send(outgoing, from: start) { _, reason in
                accepted -= 1
                tracker.dropped(1, reason: .rejected, detail: reason)
            }
            if taken < outgoing.count { usleep(1000) }
            start = taken
        }
        tracker.sent.add(accepted, ordering: .relaxed)
    }
}
