/// Encoded events handed to a transport in one call: the collector's sender fills one, the transport reads it
/// during ``FeedbackTransport/send(_:from:rejected:)``. Keys and payloads live back to back in one buffer,
/// so a batch of hundreds of events costs no allocation once the buffer has grown.
///
/// ```swift
/// func send(_ batch: OutgoingBatch, from start: Int, rejected: (Int, String) -> Void) -> Int {
///     for index in start..<batch.count {
///         batch.withMessage(index) { key, payload, token in print(payload.count, token) }
///     }
///     return batch.count
/// }
/// ```
public final class OutgoingBatch {
    struct Slot {
        var keyStart: Int
        var keyCount: Int  // -1: no key
        var payloadStart: Int
        var payloadCount: Int
        var token: UInt
    }

    /// Payload bytes, written in place by the encoder, then the key bytes after them.
    let buffer: JSONWriter
    private var slots: [Slot] = []

    init(capacity: Int) {
        buffer = JSONWriter(capacity: capacity * 512)
        slots.reserveCapacity(capacity)
    }

    /// The number of events in the batch.
    public var count: Int { slots.count }

    var isEmpty: Bool { slots.isEmpty }

    /// Calls `body` with event `index`'s key (nil: none), JSON payload and token. The buffers are valid only
    /// during `body`.
    public func withMessage<T>(
        _ index: Int, _ body: (_ key: UnsafeRawBufferPointer?, _ payload: UnsafeRawBufferPointer, _ token: UInt) -> T
    ) -> T {
        withMessages { message in
            let (key, payload, token) = message(index)
            return body(key, payload, token)
        }
    }

    /// Calls `body` with an accessor for every event's key, payload and token, all valid during `body` (for
    /// a transport handing the whole batch to a C library in one call).
    public func withMessages<T>(
        _ body: ((Int) -> (key: UnsafeRawBufferPointer?, payload: UnsafeRawBufferPointer, token: UInt)) -> T
    ) -> T {
        buffer.withBytes { bytes in
            body { index in
                let slot = slots[index]
                let payload = UnsafeRawBufferPointer(
                    rebasing: bytes[slot.payloadStart..<slot.payloadStart + slot.payloadCount])
                let key =
                    slot.keyCount < 0
                    ? nil : UnsafeRawBufferPointer(rebasing: bytes[slot.keyStart..<slot.keyStart + slot.keyCount])
                return (key, payload, slot.token)
            }
        }
    }

    /// Starts an event: what the encoder writes next into `buffer` is its payload.
    var payloadStart: Int { buffer.count }

    /// Ends the event begun at `payloadStart`, appending its key.
    func commit(payloadStart: Int, key: String?, token: UInt) {
        let payloadCount = buffer.count - payloadStart
        var keyStart = buffer.count
        var keyCount = -1
        if var key {
            keyStart = buffer.count
            key.withUTF8 { buffer.append($0) }
            keyCount = buffer.count - keyStart
        }
        slots.append(
            Slot(
                keyStart: keyStart, keyCount: keyCount, payloadStart: payloadStart, payloadCount: payloadCount,
                token: token))
    }

    /// Forgets an event begun at `payloadStart` (it was too large).
    func discard(payloadStart: Int) { buffer.truncate(to: payloadStart) }

    func removeAll() {
        slots.removeAll(keepingCapacity: true)
        buffer.reset()
    }
}
