/// Encodes events to their JSON with a reused buffer: what the collector's sender does for each event.
/// For callers that encode themselves (benchmarks, custom transports). Not thread-safe: one per thread.
///
/// ```swift
/// let encoder = FeedbackEncoder()
/// let size = encoder.encode(event)          // bytes written
/// encoder.withBytes { socket.send($0) }     // valid until the next encode
/// ```
public final class FeedbackEncoder {
    private var encoder = EventEncoder(generator: SplitMix64())

    public init() {}

    /// Encodes `event` (assigning a fresh `event_id` if it has none) and returns its size in bytes.
    @discardableResult
    public func encode(_ event: FeedbackEvent) -> Int {
        encoder.encodeInPlace(event)
    }

    /// The last encoded event's bytes, valid until the next `encode`.
    public func withBytes<T>(_ body: (UnsafeRawBufferPointer) throws -> T) rethrows -> T {
        try encoder.writer.withBytes(body)
    }
}
