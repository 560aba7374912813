import Pipeline

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

    /// Encodes the impression of `item` at `position` in the response to `context` — the same bytes as
    /// `encode(.impression(of:at:context:timestampMs:))`, written straight from the item as the collector's
    /// sender does — and returns its size in bytes.
    ///
    /// ```swift
    /// let context = RecommendContext(userID: "user_123", scene: "feed")
    /// encoder.encodeImpression(of: Item(id: "item_456", score: 0.85), at: 0, context: context, timestampMs: 1_704_067_200_000)
    /// encoder.withBytes { print(String(decoding: $0, as: UTF8.self)) }
    /// ```
    @discardableResult
    public func encodeImpression(
        of item: Item, at position: Int, context: RecommendContext, timestampMs: Int64
    ) -> Int {
        encoder.writer.reset()
        encoder.writer.impression(
            of: item, at: position, context: context, timestampMs: timestampMs, generator: &encoder.generator)
        return encoder.writer.count
    }

    /// The last encoded event's bytes, valid until the next `encode`.
    public func withBytes<T>(_ body: (UnsafeRawBufferPointer) throws -> T) rethrows -> T {
        try encoder.writer.withBytes(body)
    }
}
