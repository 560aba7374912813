/// One input record: where it sits in its partition and its payload (a feedback event's JSON).
///
/// ```swift
/// let record = SourceRecord(partition: 0, offset: 42, payload: Array(json.utf8))
/// ```
public struct SourceRecord: Sendable, Hashable {
    public var partition: Int32
    public var offset: Int64
    public var payload: [UInt8]

    public init(partition: Int32, offset: Int64, payload: [UInt8]) {
        self.partition = partition
        self.offset = offset
        self.payload = payload
    }
}
