/// Where a transport hands the events it accepted but cannot deliver now: a spool on local disk
/// (`SpoolingTransport` in FeedbackLog), which keeps them and replays them through the same transport later.
///
/// A transport calls it from any of its threads; every method must be cheap and must not block for long.
///
/// ```swift
/// // in a transport's delivery-report callback, for a failure a retry can fix:
/// if let fallback = fallbackReference.load()?.fallback, !error.isPermanent {
///     fallback.destinationDown(reason: error.description)
///     fallback.keep(key: report.key, payload: payload)
/// }
/// ```
public protocol TransportFallback: AnyObject, Sendable {
    /// Keeps a live event the destination could not take, for a reason a retry can fix. Its outcome is
    /// now the fallback's to report (spooled, or dropped when the spool is full).
    func keep(key: [UInt8]?, payload: [UInt8])
    /// The destination is unreachable: until ``destinationUp()``, new events go straight to the fallback.
    func destinationDown(reason: String)
    /// The destination took a live event again.
    func destinationUp()
    /// The outcome of a replayed event (a token with ``TransportFallbackTokens/replayBit`` set): nil when
    /// delivered, else why not, and whether a retry could ever fix it (`permanent`: the destination will
    /// never take this event, e.g. it is over the broker's size limit). Replayed events are never passed to
    /// `keep` nor counted on the tracker.
    func replayed(token: UInt, failure: String?, permanent: Bool)
}

/// Token conventions between a transport and its fallback.
public enum TransportFallbackTokens {
    /// Tokens of replayed events have this bit set; live tokens are record times (monotonic nanoseconds),
    /// which never reach it.
    public static let replayBit: UInt = 1 << (UInt.bitWidth - 1)
}

/// A transport that can work behind a ``TransportFallback``: it tells the fallback what it cannot deliver
/// and when its destination is down, answers reachability probes, and routes the outcome of replayed events
/// (tokens with ``TransportFallbackTokens/replayBit``) to the fallback instead of the tracker.
///
/// With a fallback installed, `send` returns `.busy` (rather than queueing unboundedly) when full, and passes
/// a failure a retry could fix to ``TransportFallback/keep(key:payload:)`` instead of rejecting the event;
/// permanent refusals are still rejected.
///
/// ```swift
/// let transport = try SpoolingTransport(
///     wrapping: KafkaTransport(configuration: kafka), spool: SpoolConfiguration(path: "spool.sqlite"))
/// ```
public protocol FallbackCapableTransport: FeedbackTransport {
    /// Installs the fallback; called once, before ``FeedbackTransport/start(tracker:)``.
    func install(fallback: any TransportFallback)
    /// Asks the destination whether it answers, waiting at most `timeout`.
    func isReachable(timeout: Duration) -> Bool
    /// Events handed over and still without an outcome (a replayer yields to live traffic above a bound).
    var inFlight: Int { get }
    /// How long the transport keeps trying one event before reporting it failed.
    var deliveryTimeout: Duration { get }
}

/// Holds a transport's fallback for lock-free reads on its callback threads (`AtomicLazyReference` needs a
/// class, and the fallback is an existential).
public final class TransportFallbackReference: Sendable {
    public let fallback: any TransportFallback

    public init(_ fallback: any TransportFallback) { self.fallback = fallback }
}
