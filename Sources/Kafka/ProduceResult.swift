/// What happened to a message handed to ``KafkaProducer/produce(key:value:token:)``. Never blocks.
public enum ProduceResult: Sendable, Equatable {
    /// librdkafka took a copy; a ``DeliveryReport`` will follow.
    case enqueued
    /// librdkafka's queue is full: try again later (after deliveries drain it) or keep the message elsewhere.
    case queueFull
    /// librdkafka refused the message for good (too large, unknown topic, fatal producer error).
    case failed(KafkaError)
}

/// One message for ``KafkaProducer/produce(count:message:refused:)``: borrowed buffers, copied by librdkafka.
public struct OutgoingMessage {
    /// The partition key; nil for none (the partitioner then spreads messages at random).
    public var key: UnsafeRawBufferPointer?
    public var value: UnsafeRawBufferPointer
    /// Comes back in the message's ``DeliveryReport``.
    public var token: UInt

    public init(key: UnsafeRawBufferPointer?, value: UnsafeRawBufferPointer, token: UInt) {
        self.key = key
        self.value = value
        self.token = token
    }
}
