/// A snapshot of what a collector did with the events recorded so far.
///
/// Every recorded event ends up in exactly one of `delivered`, `failed`, `dropped`, or is still `pending`:
/// `recorded == delivered + failed + dropped + pending`.
public struct CollectorStatistics: Sendable, Hashable, CustomStringConvertible {
    /// Events passed to `record` (accepted or not).
    public var recorded: Int
    /// Events the transport confirmed (Kafka: acknowledged per `acks`).
    public var delivered: Int
    /// Events handed to the transport whose delivery failed, by reason.
    public var failedByReason: [String: Int]
    /// Events never handed to the transport, by reason.
    public var droppedByReason: [DropReason: Int]
    /// Events in the collector's own buffer.
    public var buffered: Int
    /// Events handed to the transport without an outcome yet.
    public var inFlight: Int

    public var failed: Int { failedByReason.values.reduce(0, +) }
    public var dropped: Int { droppedByReason.values.reduce(0, +) }
    /// Events without an outcome yet.
    public var pending: Int { recorded - delivered - failed - dropped }

    public var description: String {
        "recorded=\(recorded) delivered=\(delivered) failed=\(failed) dropped=\(dropped) pending=\(pending)"
    }
}
