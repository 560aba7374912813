/// Where and how a ``SpoolingTransport`` keeps events its transport cannot deliver now, and how it replays them.
///
/// With a spool, nothing is dropped when Kafka is down or slow: events whose delivery fails for a reason
/// that a retry can fix, events that find librdkafka's queue full, and every event while all brokers are
/// down go to a local log; a replayer sends them when the brokers answer again, unchanged (same
/// `event_id`), in batches that yield to live traffic. Replay is at least once: a batch interrupted by a
/// crash or outage is sent again, so consumers de-duplicate by `event_id`.
///
/// ```swift
/// let transport = try SpoolingTransport(
///     wrapping: KafkaTransport(configuration: kafka), spool: SpoolConfiguration(path: "feedback-data/spool.sqlite"))
/// ```
public struct SpoolConfiguration: Sendable {
    /// The spool's SQLite file.
    public var path: String
    /// Cap on spooled bytes (keys + payloads).
    public var maxBytes: Int = 1 << 30
    /// At the cap: refuse new events (counted `log_full`) or evict the oldest spooled ones.
    public var overflow: LocalLog.Configuration.OverflowPolicy = .rejectNew
    /// Events per replay batch (acknowledged in the spool once all are delivered). One batch is in flight at
    /// a time, so each waits out its last reports; a crash sends at most two batches again (BENCHMARKS.md has
    /// the measurements behind the default).
    public var replayBatch: Int = 10_000
    /// How often to ask the brokers whether they are back, while they are down.
    public var probeInterval: Duration = .milliseconds(250)
    /// Replay pauses while the transport holds more than this many events in flight (live traffic first).
    public var yieldAbove: Int = 50_000
    /// `powerLoss` fsyncs every spool commit (durable mode then survives power cuts, not only crashes).
    public var sync: LocalLog.Configuration.Sync = .processCrash

    public init(path: String, maxBytes: Int = 1 << 30) {
        self.path = path
        self.maxBytes = maxBytes
    }
}
