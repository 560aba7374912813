/// One event encoded for the wire: its partition key (if any) and its JSON payload.
public struct EncodedEvent: Sendable, Hashable {
    public var key: [UInt8]?
    public var payload: [UInt8]

    public init(key: [UInt8]?, payload: [UInt8]) {
        self.key = key
        self.payload = payload
    }
}

/// A transport that can make events durable on local disk before `record` returns (durable mode).
///
/// `persist` is called with a group of events from many concurrent `record` calls (group commit) and
/// returns only once they are on disk; it reports their outcome to the tracker itself (delivered, for a
/// local log that is the destination; spooled, for Kafka, whose replayer ships them later).
public protocol DurableTransport: FeedbackTransport {
    /// Whether this instance can persist (a Kafka transport can only with a spool).
    var supportsDurability: Bool { get }
    func persist(_ events: [EncodedEvent]) throws(FeedbackError)
}
