import Foundation
import Pipeline

/// Durable mode's write path: `record` encodes its events on the caller's thread and waits until they are
/// on disk. Concurrent callers share one write (group commit): the first caller to find no write in
/// progress becomes the leader and writes everything queued so far; the others wait for that write.
final class DurableWriter: @unchecked Sendable {
    // @unchecked Sendable: every mutable field is used only with `condition` locked.
    private let transport: any DurableTransport
    private let tracker: DeliveryTracker
    private let maxEventBytes: Int
    private let condition = NSCondition()
    private var queued: [EncodedEvent] = []
    private var nextGroup = 1
    private var writtenGroup = 0
    private var writing = false
    private var failures: [Int: FeedbackError] = [:]

    init(transport: any DurableTransport, tracker: DeliveryTracker, maxEventBytes: Int) {
        self.transport = transport
        self.tracker = tracker
        self.maxEventBytes = maxEventBytes
    }

    /// Encodes `events` and returns once they are durable. Oversized events are dropped and counted alone.
    func write(_ events: [FeedbackEvent]) throws(FeedbackError) {
        var encoder = EventEncoder(generator: SystemRandomNumberGenerator())
        var encoded: [EncodedEvent] = []
        encoded.reserveCapacity(events.count)
        for event in events {
            let payload = encoder.encode(event)
            if payload.count > maxEventBytes {
                tracker.dropped(
                    1, reason: .tooLarge, detail: event.tooLargeDetail(size: payload.count, limit: maxEventBytes))
                continue
            }
            encoded.append(EncodedEvent(key: event.partitionKey.map { Array($0.utf8) }, payload: payload))
        }
        guard !encoded.isEmpty else { return }
        try commit(encoded)
    }

    private func commit(_ events: [EncodedEvent]) throws(FeedbackError) {
        condition.lock()
        defer { condition.unlock() }
        queued.append(contentsOf: events)
        let group = nextGroup
        while writtenGroup < group {
            if writing {
                condition.wait()
                continue
            }
            writing = true
            let batch = queued
            let batchGroup = nextGroup
            queued.removeAll(keepingCapacity: true)
            nextGroup += 1
            condition.unlock()
            var failure: FeedbackError?
            do { try transport.persist(batch) } catch { failure = error }
            condition.lock()
            if let failure {
                failures[batchGroup] = failure
                let reason: DropReason =
                    if case .storage(let text) = failure, text.contains("full") { .logFull } else { .storageError }
                tracker.dropped(batch.count, reason: reason, detail: failure.description)
            }
            writtenGroup = batchGroup
            writing = false
            condition.broadcast()
        }
        if let failure = failures[group] {
            // Every waiter of the group throws; the last one to look cleans up soon after (bounded by groups).
            if failures.count > 64 { failures.removeAll() }
            throw failure
        }
    }
}

/// Encodes events into reusable storage, assigning event ids from its generator.
struct EventEncoder<Generator: RandomNumberGenerator> {
    let writer = JSONWriter(capacity: 4096)
    var generator: Generator

    init(generator: Generator) {
        self.generator = generator
    }

    /// Encodes into the writer's buffer (valid until the next call) and returns its size.
    mutating func encodeInPlace(_ event: FeedbackEvent) -> Int {
        writer.reset()
        writer.event(event, generator: &generator)
        return writer.count
    }

    mutating func encode(_ event: FeedbackEvent) -> [UInt8] {
        _ = encodeInPlace(event)
        return writer.bytes
    }

}

extension FeedbackEvent {
    func tooLargeDetail(size: Int, limit: Int) -> String {
        Self.tooLargeDetail(itemID: itemID, size: size, limit: limit)
    }

    static func tooLargeDetail(itemID: String, size: Int, limit: Int) -> String {
        "event for item '\(itemID)' encodes to \(size) bytes, over maxEventBytes \(limit): keep extras small"
    }
}
