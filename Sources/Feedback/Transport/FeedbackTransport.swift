/// Where a collector sends encoded events: Kafka, memory (tests), and later a local log.
///
/// The collector calls `send` from its single sender thread; a transport must never block there for
/// long. It reports the outcome of every event it accepted to the ``DeliveryTracker`` it was started with.
///
/// ```swift
/// let collector = try FeedbackCollector(transport: InMemoryTransport())
/// ```
public protocol FeedbackTransport: Sendable {
    /// A short name for logs ("kafka", "memory").
    var name: String { get }
    /// Called once, before the first `send`.
    func start(tracker: DeliveryTracker)
    /// Hands over one encoded event (key: the partition key, if any). `token` identifies it in the outcome.
    func send(key: UnsafeRawBufferPointer?, payload: UnsafeRawBufferPointer, token: UInt) -> TransportSendResult
    /// Hands over the events of `batch` from index `start` on, in order, and returns the index up to which
    /// they were taken: accepted, or rejected for good (each rejection passed to `rejected` with its index and
    /// reason). Returning less than `batch.count` means busy: the collector retries the rest shortly (a
    /// transport that took some of the rest already marks them, ``OutgoingBatch/markTaken(_:)``).
    /// Default: one ``send(key:payload:token:)`` per event.
    func send(_ batch: OutgoingBatch, from start: Int, rejected: (Int, String) -> Void) -> Int
    /// Called after each group of `send` calls, when the collector's buffer is momentarily drained: the moment
    /// for a transport that batches (a local log) to commit. Default: nothing.
    func batchDidEnd()
    /// Blocks until every accepted event has an outcome; false if `timeout` passed first.
    func flush(timeout: Duration) -> Bool
    /// Gives up on events still without an outcome (reporting each one as failed) and releases resources.
    func close()
}

extension FeedbackTransport {
    public func batchDidEnd() {}

    public func send(_ batch: OutgoingBatch, from start: Int, rejected: (Int, String) -> Void) -> Int {
        for index in start..<batch.count where !batch.hasTakenEvents || !batch.isTaken(index) {
            let result = batch.withMessage(index) { key, payload, token in
                send(key: key, payload: payload, token: token)
            }
            switch result {
            case .accepted: continue
            case .busy: return index
            case .rejected(let reason): rejected(index, reason)
            }
        }
        return batch.count
    }
}

/// The answer of ``FeedbackTransport/send(key:payload:token:)``.
public enum TransportSendResult: Sendable, Equatable {
    /// Taken; an outcome will be reported.
    case accepted
    /// Full for now: the collector retries shortly (its own buffer absorbs the wait).
    case busy
    /// Refused for good; the event is dropped and counted with this reason.
    case rejected(reason: String)
}
