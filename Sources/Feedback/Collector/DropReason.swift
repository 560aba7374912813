/// Why an event was dropped (never handed to the transport). Every drop is counted and logged.
public enum DropReason: String, Sendable, Hashable, CaseIterable {
    /// Recorded after shutdown.
    case closed = "closed"
    /// The collector's bounded buffer was full.
    case queueFull = "queue_full"
    /// The event failed validation.
    case invalid = "invalid"
    /// The encoded event exceeded `maxEventBytes`.
    case tooLarge = "too_large"
    /// The transport refused the event for good (e.g. unknown topic, fatal producer error).
    case rejected = "rejected"
    /// Shutdown's deadline passed while the event was still buffered.
    case shutdownTimeout = "shutdown_timeout"
    /// The local log or spool was full (its cap in bytes) under the reject-new policy.
    case logFull = "log_full"
    /// The local log could not be written (disk error, permissions).
    case storageError = "storage_error"
}
