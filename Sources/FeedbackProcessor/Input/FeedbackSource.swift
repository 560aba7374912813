/// Where the processor reads feedback events: the embedded local log or a Kafka consumer group.
/// Need not be thread-safe: one processor drives one source, one call at a time — though not always from
/// the same thread (it reads the next poll on another thread while it applies the previous one).
public protocol FeedbackSource: AnyObject {
    var name: String { get }
    /// Called once before the first poll with the last offset applied per partition (from the processor's
    /// store, which commits them with its outputs).
    func start(after applied: [Int32: Int64]) throws
    /// The next records, at most `max`, waiting up to `timeout` for the first. Blocks.
    func poll(max: Int, timeout: Duration) throws -> [SourceRecord]
    /// The outputs of `records` are durable: the source may forget them (commit its own offsets).
    func commit(_ records: [SourceRecord]) throws
    /// `records` (a failed batch and anything polled after it) were not kept: the next `poll` returns them
    /// again (each partition goes back to its first record among them).
    func rewind(_ records: [SourceRecord]) throws
    /// The partitions this source reads now (a consumer's assignment). Event-time windows close only once
    /// every one of them has passed (an assigned partition not read yet holds the watermark back).
    var assignment: [Int32] { get }
}
