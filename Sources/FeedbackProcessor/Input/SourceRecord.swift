/// One input record: where it sits in its partition, its payload (a feedback event's JSON) and when it arrived.
///
/// ```swift
/// let record = SourceRecord(partition: 0, offset: 42, payload: Array(json.utf8), arrivalMs: 1_704_067_200_000)
/// ```
public struct SourceRecord: Sendable, Hashable {
    public var partition: Int32
    public var offset: Int64
    public var payload: [UInt8]
    /// When the record reached its log (Kafka's message timestamp, the local log's append time), in Unix
    /// milliseconds; 0 when unknown. An event more than ``EventWireFormat/Limits/maxFutureSkewMs`` ahead of
    /// it is refused (a bad clock would otherwise close every open window at once).
    public var arrivalMs: Int64

    public init(partition: Int32, offset: Int64, payload: [UInt8], arrivalMs: Int64 = 0) {
        self.partition = partition
        self.offset = offset
        self.payload = payload
        self.arrivalMs = arrivalMs
    }
}
