import Foundation
import Logging
import Pipeline
import Synchronization

/// Records feedback events without ever blocking the caller, and hands them to a transport (Kafka, memory).
///
/// `record` validates the event, appends it to a bounded buffer and returns: no encoding, no I/O, no
/// waiting. A dedicated sender thread encodes events to JSON and hands them to the transport. When the
/// buffer is full, or after shutdown, `record` throws and the event is counted as dropped — never lost
/// silently.
///
/// ```swift
/// let collector = try FeedbackCollector(transport: KafkaTransport(configuration: kafkaConfiguration))
/// try collector.recordClick(itemID: "item_456", position: 3, context: context)
/// let statistics = await collector.shutdown(timeout: .seconds(10))
/// print(statistics)   // recorded=1 delivered=1 failed=0 dropped=0 pending=0
/// ```
public final class FeedbackCollector: Sendable {
    private let core: CollectorCore
    let shutdownTimeout: Duration
    private let shutdownState = Atomic<Int>(0)  // 0 running, 1 shutting down, 2 shut down

    /// Starts a collector (and its sender thread) over `transport`.
    public init(transport: any FeedbackTransport, configuration: Configuration = Configuration())
        throws(FeedbackError)
    {
        try configuration.validate(transport: transport)
        core = CollectorCore(transport: transport, configuration: configuration)
        shutdownTimeout = configuration.shutdownTimeout
    }

    deinit {
        // Forgotten shutdown: let the sender drain and flush in the background rather than drop the buffer.
        core.stop(abandon: false, closeTransport: true)
    }

    /// Records one event. Never blocks. Throws ``FeedbackError`` (and counts a drop) when the event is
    /// invalid, the buffer is full or the collector is shut down.
    public func record(_ event: consuming FeedbackEvent) throws(FeedbackError) {
        core.tracker.countRecorded(1)
        do {
            try event.validate()
        } catch {
            core.tracker.dropped(1, reason: .invalid, detail: error.description)
            throw error
        }
        if core.durable != nil {
            try writeDurably([event])
            return
        }
        let bytes = event.approximateBytes
        try core.enqueue(.event(consume event, enqueuedNanos: MonotonicClock.nanoseconds()), count: 1, bytes: bytes)
    }

    /// Records the impressions of a response: one event per item, `position` = index in `items`, all with
    /// the context's `requestID`. Costs the caller one buffer append, whatever the number of items.
    public func recordImpressions(of items: [Item], context: RecommendContext) throws(FeedbackError) {
        guard !items.isEmpty else { return }
        core.tracker.countRecorded(items.count)
        // The wire format's limits, as `record` checks them: the context's ids once, each item's id.
        typealias Limits = EventWireFormat.Limits
        for (value, field) in [
            (context.userID, EventWireFormat.userID), (context.deviceID, EventWireFormat.deviceID),
            (context.requestID, EventWireFormat.requestID), (context.scene, EventWireFormat.scene),
        ] {
            if let problem = Limits.problem(id: value, field: field) {
                core.tracker.dropped(items.count, reason: .invalid, detail: problem)
                throw .invalidEvent(problem)
            }
        }
        var items = items
        if items.contains(where: { $0.id.isEmpty || Limits.problem(id: $0.id, field: EventWireFormat.itemID) != nil }) {
            let before = items.count
            let problem =
                items.lazy.compactMap {
                    $0.id.isEmpty ? "an empty item id" : Limits.problem(id: $0.id, field: "item_id")
                }
                .first ?? ""
            items.removeAll { $0.id.isEmpty || Limits.problem(id: $0.id, field: EventWireFormat.itemID) != nil }
            core.tracker.dropped(before - items.count, reason: .invalid, detail: "impression with \(problem)")
            if items.isEmpty {
                throw .invalidEvent("no item has a valid id (\(problem)): set Item.id before recording impressions")
            }
        }
        if core.durable != nil {
            let now = TimeOrderedID.currentMilliseconds()
            try writeDurably(
                items.enumerated().map { FeedbackEvent.impression(of: $1, at: $0, context: context, timestampMs: now) })
            return
        }
        let entry = CollectorCore.Entry.impressions(
            context, items, timestampMs: TimeOrderedID.currentMilliseconds(),
            enqueuedNanos: MonotonicClock.nanoseconds())
        try core.enqueue(entry, count: items.count, bytes: items.count * 256)
    }

    private func writeDurably(_ events: [FeedbackEvent]) throws(FeedbackError) {
        if core.isClosed {
            core.tracker.dropped(events.count, reason: .closed)
            throw .closed
        }
        try core.durable!.write(events)
    }

    /// Waits until every event recorded before this call has an outcome (delivered or failed), sending
    /// without waiting for the transport's batching delay. Returns false if `timeout` passed first.
    @discardableResult
    public func flush(timeout: Duration = .seconds(10)) async -> Bool {
        await core.flush(timeout: timeout)
    }

    /// Refuses new events, delivers what is buffered and in flight within `timeout`, then closes the
    /// transport. Whatever could not be delivered in time is counted (`shutdown_timeout`, or a failure
    /// reason such as the transport's purge) — never silently lost. Idempotent.
    @discardableResult
    public func shutdown(timeout: Duration = .seconds(10)) async -> CollectorStatistics {
        if shutdownState.compareExchange(expected: 0, desired: 1, ordering: .acquiringAndReleasing).exchanged {
            core.close()
            _ = await core.flush(timeout: timeout)
            let core = self.core
            await onDedicatedThread(name: "feedback.shutdown") {
                core.stop(abandon: true, closeTransport: true)
                core.waitForSender()
            }
            shutdownState.store(2, ordering: .releasing)
        } else {
            while shutdownState.load(ordering: .acquiring) != 2 {
                try? await Task.sleep(for: .milliseconds(5))
            }
        }
        return statistics
    }

    /// Events in the collector's buffer right now (one lock; cheaper than ``statistics``).
    public var bufferedEvents: Int { core.bufferedCount }

    /// What happened to the events recorded so far.
    public var statistics: CollectorStatistics { core.statistics }
}
