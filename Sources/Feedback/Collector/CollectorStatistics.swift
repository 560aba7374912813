/// A snapshot of what a collector did with the events recorded so far.
///
/// Every event recorded by this process ends up in exactly one of `delivered`, `spooled`, `failed`,
/// `dropped`, or is still `pending`: `recorded == delivered + spooled + failed + dropped + pending`.
/// `replayed` counts events shipped from the spool, which may have been recorded by an earlier process, and
/// `replayRefused` the spooled events the destination refused for good when they were replayed (counted,
/// logged, and no longer held in the spool): spooled events leave the spool as one of the two.
public struct CollectorStatistics: Sendable, Hashable, CustomStringConvertible {
    /// Events passed to `record` (accepted or not).
    public var recorded: Int
    /// Events the transport confirmed directly (Kafka: acknowledged per `acks`; local log: committed).
    public var delivered: Int
    /// Events written to the local spool instead (outage, full queue, durable mode); replayed later.
    public var spooled: Int
    /// Events shipped from the spool and confirmed (by this process; possibly recorded by an earlier one).
    public var replayed: Int
    /// Spooled events the destination refused for good on replay (over its size limit, say).
    public var replayRefused: Int = 0
    /// Events handed to the transport whose delivery failed, by reason.
    public var failedByReason: [String: Int]
    /// Events never handed to the transport (or lost after it), by reason.
    public var droppedByReason: [DropReason: Int]
    /// Events in the collector's own buffer.
    public var buffered: Int
    /// Events handed to the transport without an outcome yet.
    public var inFlight: Int

    public var failed: Int { failedByReason.values.reduce(0, +) }
    public var dropped: Int { droppedByReason.values.reduce(0, +) }
    /// Events without an outcome yet.
    public var pending: Int { recorded - delivered - spooled - failed - dropped }

    public var description: String {
        "recorded=\(recorded) delivered=\(delivered) spooled=\(spooled) replayed=\(replayed) "
            + (replayRefused > 0 ? "replay_refused=\(replayRefused) " : "") + "failed=\(failed) "
            + "dropped=\(dropped) pending=\(pending)"
    }
}
