/// What happened to a message handed to ``KafkaProducer/produce(key:value:token:)``. Never blocks.
public enum ProduceResult: Sendable, Equatable {
    /// librdkafka took a copy; a ``DeliveryReport`` will follow.
    case enqueued
    /// librdkafka's queue is full: try again later (after deliveries drain it) or keep the message elsewhere.
    case queueFull
    /// librdkafka refused the message for good (too large, unknown topic, fatal producer error).
    case failed(KafkaError)
}
