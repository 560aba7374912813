/// Why the collector did not take an event. Each one is also counted in ``CollectorStatistics/dropped``.
public enum FeedbackError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The collector was shut down; events recorded afterwards are refused, never silently accepted.
    case closed
    /// The collector's buffer holds `capacity` events; the transport is not keeping up or is down.
    case queueFull(capacity: Int)
    /// The event is malformed; the text says what to fix.
    case invalidEvent(String)
    /// A configuration value is wrong; the text says which and what to use instead.
    case invalidConfiguration(String)
    /// Durable mode could not write the event to the local log; the text says why and what to do.
    case storage(String)

    public var description: String {
        switch self {
        case .closed:
            "the feedback collector is shut down: record events before shutdown(), or create a new collector"
        case .queueFull(let capacity):
            "the feedback collector's buffer is full (\(capacity) events or maxBufferedBytes): the transport is "
                + "down or too slow; raise capacity or check the transport's health"
        case .invalidEvent(let text): "invalid feedback event: \(text)"
        case .invalidConfiguration(let text): "invalid feedback configuration: \(text)"
        case .storage(let text): "feedback event not stored: \(text)"
        }
    }
}
