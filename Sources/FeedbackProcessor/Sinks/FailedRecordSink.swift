/// Where the records the processor refuses go besides its store's failed-records table: a dead-letter topic
/// (``DeadLetterTopic``), or anything that keeps them. Called with each batch's failed records (and the items
/// a sink refused, ``SinkRefusal``) before the batch commits; a throw fails the batch, which is retried. A
/// crash after the write and before the commit writes them again: at least once, keyed so a reader can tell.
///
/// ```swift
/// let deadLetters = try DeadLetterTopic(topic: "feedback-topic.failed", properties: ["bootstrap.servers": "127.0.0.1:9092"])
/// let processor = try FeedbackProcessor(source: source, configuration: configuration, failedSinks: [deadLetters])
/// ```
public protocol FailedRecordSink: AnyObject {
    func write(_ records: [FailedRecord]) throws
}
