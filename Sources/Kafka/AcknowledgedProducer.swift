import Synchronization

/// A producer for the few messages that must be acknowledged before the caller goes on — dead letters
/// written before a batch commits, records re-driven by hand: ``send(_:timeout:)`` returns once the broker
/// has taken every message, or throws. Not for the event stream (the collector's transport is).
///
/// ```swift
/// let producer = try AcknowledgedProducer(topic: "feedback-topic.failed", properties: ["bootstrap.servers": "127.0.0.1:9092"])
/// try producer.send([(key: Array("0/42".utf8), value: Array(json.utf8))], timeout: .seconds(30))
/// ```
public final class AcknowledgedProducer: Sendable {
    private let producer: KafkaProducer
    /// The first error of each send's messages, by token.
    private let outcome: Outcome

    /// Delivery reports of the current send (the poll thread writes, `send` reads).
    private final class Outcome: Sendable {
        let failures = Mutex<[KafkaError]>([])
        let delivered = Atomic<Int>(0)
    }

    public init(topic: String, properties: [String: String]) throws(KafkaError) {
        let outcome = Outcome()
        // Acknowledged by every in-sync replica, and retried within the send's timeout.
        var settings = ["acks": "all", "linger.ms": "5"]
        settings.merge(properties) { _, given in given }
        producer = try KafkaProducer(
            topic: topic, properties: settings,
            onDeliveries: { reports in
                for report in reports {
                    if let error = report.error {
                        outcome.failures.withLock { $0.append(error) }
                    } else {
                        outcome.delivered.add(1, ordering: .relaxed)
                    }
                }
            })
        self.outcome = outcome
    }

    /// Sends `messages` and waits until the broker acknowledged each; throws the first failure (refused,
    /// timed out) — some of the messages may have been written then: send them again (readers must take a
    /// message twice; keys make that easy).
    public func send(_ messages: [(key: [UInt8]?, value: [UInt8])], timeout: Duration) throws(KafkaError) {
        guard !messages.isEmpty else { return }
        outcome.failures.withLock { $0.removeAll() }
        outcome.delivered.store(0, ordering: .relaxed)
        let deadline = ContinuousClock.now + timeout
        // Every key and value in one buffer, alive for the whole produce call (librdkafka copies them then).
        var arena: [UInt8] = []
        var places: [(key: Range<Int>?, value: Range<Int>)] = []
        for message in messages {
            let key = message.key.map { key -> Range<Int> in
                arena += key
                return (arena.count - key.count)..<arena.count
            }
            arena += message.value
            places.append((key, (arena.count - message.value.count)..<arena.count))
        }
        var pending = Array(messages.indices)
        while !pending.isEmpty {
            var full: [Int] = []
            var refused: KafkaError?
            arena.withUnsafeBytes { bytes in
                func slice(_ range: Range<Int>) -> UnsafeRawBufferPointer {
                    UnsafeRawBufferPointer(rebasing: bytes[range])
                }
                producer.produce(
                    count: pending.count,
                    message: { index in
                        let place = places[pending[index]]
                        return OutgoingMessage(key: place.key.map(slice), value: slice(place.value), token: UInt(index))
                    }, refused: { _, error in refused = refused ?? error }, full: { full.append($0) })
            }
            if let refused { throw refused }
            pending = full.map { pending[$0] }
            if !pending.isEmpty {
                guard ContinuousClock.now < deadline else {
                    throw KafkaError(code: -184, name: "_QUEUE_FULL", message: "the producer's queue stayed full")
                }
                _ = producer.flush(timeout: .milliseconds(100))
            }
        }
        let remaining = deadline - ContinuousClock.now
        guard producer.flush(timeout: max(remaining, .milliseconds(1))) else {
            throw KafkaError(
                code: -192, name: "_MSG_TIMED_OUT", message: "not every message was acknowledged within \(timeout)")
        }
        if let failure = outcome.failures.withLock({ $0.first }) { throw failure }
    }

    /// Waits for what is in flight, then closes the producer.
    public func close() {
        _ = producer.flush(timeout: .seconds(5))
        producer.close()
    }
}
