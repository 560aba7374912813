import Synchronization

/// Keeps every event in memory and reports it delivered at once. For tests and examples.
///
/// ```swift
/// let transport = InMemoryTransport()
/// let collector = try FeedbackCollector(transport: transport)
/// try collector.record(FeedbackEvent(type: .click, itemID: "i1", userID: "u1"))
/// _ = await collector.flush()
/// print(transport.messages.count)   // 1
/// ```
public final class InMemoryTransport: FeedbackTransport {
    /// One event as it would be sent: key bytes (nil for no key) and JSON payload.
    public struct Message: Sendable, Hashable {
        public var key: [UInt8]?
        public var payload: [UInt8]
        public var keyString: String? { key.map { String(decoding: $0, as: UTF8.self) } }
        public var json: String { String(decoding: payload, as: UTF8.self) }
    }

    private let stored = Mutex<[Message]>([])
    private let tracker = Mutex<DeliveryTracker?>(nil)

    public init() {}

    public var name: String { "memory" }

    /// Everything sent so far, in order.
    public var messages: [Message] { stored.withLock { $0 } }

    public func start(tracker: DeliveryTracker) {
        self.tracker.withLock { $0 = tracker }
    }

    public func send(key: UnsafeRawBufferPointer?, payload: UnsafeRawBufferPointer, token: UInt)
        -> TransportSendResult
    {
        let message = Message(key: key.map { Array($0) }, payload: Array(payload))
        stored.withLock { $0.append(message) }
        tracker.withLock { $0 }?.delivered(token: token)
        return .accepted
    }

    public func flush(timeout: Duration) -> Bool { true }

    public func close() {}
}
