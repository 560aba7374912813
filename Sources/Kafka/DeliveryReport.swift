/// The outcome of one produced message, as librdkafka reports it on the producer's poll thread.
///
/// On success `error` is nil and `key`/`payload` are nil (no copy is made). On failure they carry a copy
/// of the message, so that the caller can keep it (spool it, log it) instead of losing it.
public struct DeliveryReport: Sendable {
    /// Why the message was not delivered; nil when the broker acknowledged it (or, with acks=0, when it was sent).
    public var error: KafkaError?
    /// The partition it went to (-1 if unknown).
    public var partition: Int32
    /// Its offset in that partition (-1 if unknown, e.g. with acks=0).
    public var offset: Int64
    /// The token passed to ``KafkaProducer/produce(key:value:token:)``.
    public var token: UInt
    /// A copy of the key, only when `error` is set.
    public var key: [UInt8]?
    /// A copy of the payload, only when `error` is set.
    public var payload: [UInt8]?
}
