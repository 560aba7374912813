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
        /// Handed over by an earlier `send` that returned an index before it (see ``markTaken(_:)``).
        var taken = false
    }

    /// Payload bytes, written in place by the encoder, then the key bytes after them.
    let buffer: JSONWriter
    private var slots: [Slot] = []

    /// An empty batch with room for `capacity` events of about 512 bytes before it grows.
    public init(capacity: Int) {
        buffer = JSONWriter(capacity: capacity * 512)
        slots.reserveCapacity(capacity)
    }

    /// Appends an event already encoded (a replayer re-sending spooled events builds its batches so).
    ///
    /// ```swift
    /// let batch = OutgoingBatch(capacity: records.count)
    /// for (index, record) in records.enumerated() {
    ///     batch.append(key: record.key, payload: record.payload, token: TransportFallbackTokens.replayBit | UInt(index))
    /// }
    /// ```
    public func append(key: [UInt8]?, payload: [UInt8], token: UInt) {
        let payloadStart = buffer.count
        payload.withUnsafeBufferPointer { buffer.append($0) }
        var keyStart = buffer.count
        var keyCount = -1
        if let key {
            keyStart = buffer.count
            key.withUnsafeBufferPointer { buffer.append($0) }
            keyCount = key.count
        }
        slots.append(
            Slot(
                keyStart: keyStart, keyCount: keyCount, payloadStart: payloadStart, payloadCount: payload.count,
                token: token))
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

    /// Whether a transport marked any event taken out of order (``markTaken(_:)``).
    public private(set) var hasTakenEvents = false

    /// Marks event `index` as handed over (accepted, or rejected and reported) by a transport whose `send`
    /// returns an index before it — one that takes events out of order, as Kafka's routing by partition
    /// does when its queue fills up midway. The collector retries from the returned index; the transport
    /// skips the marked events then (``isTaken(_:)``), so none is sent twice.
    ///
    /// ```swift
    /// // events 0...9 handed over except 4 and 7 (no room): retry from 4, skipping 5, 6, 8 and 9
    /// for index in [5, 6, 8, 9] { batch.markTaken(index) }
    /// return 4
    /// ```
    public func markTaken(_ index: Int) {
        slots[index].taken = true
        hasTakenEvents = true
    }

    /// Whether event `index` was marked with ``markTaken(_:)``.
    public func isTaken(_ index: Int) -> Bool { slots[index].taken }

    /// Forgets an event begun at `payloadStart` (it was too large).
    func discard(payloadStart: Int) { buffer.truncate(to: payloadStart) }

    /// Empties the batch, keeping its memory.
    public func removeAll() {
        slots.removeAll(keepingCapacity: true)
        hasTakenEvents = false
        buffer.reset()
    }
}
