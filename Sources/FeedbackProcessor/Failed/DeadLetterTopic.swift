import Foundation
import Kafka

/// A Kafka dead-letter topic for the records the processor refuses: one message per record, keyed
/// `source/partition/offset` (so a compacted topic keeps each once, and a reader can drop a repeat), its
/// value the JSON line `feedback failed list --json` prints (``FailedRecord/Line``) — fix its `record` and
/// hand it to `feedback failed redrive`. Sent and acknowledged before the batch commits.
///
/// ```swift
/// let deadLetters = try DeadLetterTopic(topic: "feedback-topic.failed", properties: ["bootstrap.servers": "127.0.0.1:9092"])
/// let processor = try FeedbackProcessor(source: source, configuration: configuration, failedSinks: [deadLetters])
/// ```
public final class DeadLetterTopic: FailedRecordSink {
    public let topic: String
    private let producer: AcknowledgedProducer
    private let timeout: Duration

    public init(topic: String, properties: [String: String], timeout: Duration = .seconds(30)) throws {
        self.topic = topic
        self.timeout = timeout
        producer = try AcknowledgedProducer(topic: topic, properties: properties)
    }

    deinit { producer.close() }

    public func write(_ records: [FailedRecord]) throws {
        guard !records.isEmpty else { return }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let messages = try records.map { record -> (key: [UInt8]?, value: [UInt8]) in
            (
                Array("\(record.source)/\(record.partition)/\(record.offset)".utf8),
                Array(try encoder.encode(record.line))
            )
        }
        do {
            try producer.send(messages, timeout: timeout)
        } catch {
            throw ProcessorError.sink("dead-letter topic \(topic): \(error)")
        }
    }
}
