/// A sink's permanent refusal of some of the items it was given (a Redis key of the wrong type, a row
/// ClickHouse will never take), everything else written. Thrown by ``ProfileSink/write(_:)`` or
/// ``MetricsSink/write(_:version:)``; any other error means "not written, try the whole batch again later".
///
/// The processor keeps each refused item among the failed records (partition `-1`, source
/// `sink:NAME`, the item as JSON) and commits the batch: a poison item never stops the pipeline, and a
/// server that is down only delays it.
///
/// ```swift
/// func write(_ profiles: [UserProfile]) throws {
///     let refused = try send(profiles)   // [index: reason] of the ones the server will never take
///     if !refused.isEmpty { throw SinkRefusal(sink: "redis", items: refused.map { .init(index: $0, reason: $1) }) }
/// }
/// ```
public struct SinkRefusal: Error, Sendable, Hashable, CustomStringConvertible {
    /// One refused item: its index in the array handed to `write`, and why.
    public struct Item: Sendable, Hashable {
        public var index: Int
        public var reason: String
        public init(index: Int, reason: String) { (self.index, self.reason) = (index, reason) }
    }

    /// The sink's short name (`redis`, `clickhouse`), kept as the failed record's source `sink:NAME`.
    public var sink: String
    public var items: [Item]

    public init(sink: String, items: [Item]) { (self.sink, self.items) = (sink, items) }

    public var description: String {
        "\(sink) refused \(items.count) item(s): "
            + items.prefix(3).map { "#\($0.index) \($0.reason)" }.joined(separator: "; ")
    }
}
