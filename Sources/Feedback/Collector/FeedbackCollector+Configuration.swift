import Logging

extension FeedbackCollector {
    /// Bounds and logging of a collector; every field has a safe default.
    ///
    /// ```swift
    /// var configuration = FeedbackCollector.Configuration()
    /// configuration.capacity = 50_000
    /// ```
    public struct Configuration: Sendable {
        /// What `record` waits for before it returns.
        public enum Durability: String, Sendable {
            /// `record` returns once the event is in memory; a process crash loses what is buffered and in
            /// flight (at most `capacity` events plus the transport's queue). Failures still spool to disk.
            case bestEffort = "best_effort"
            /// `record` returns once the event is in the local log (group-committed): a SIGKILL loses
            /// nothing that `record` accepted. Needs a ``DurableTransport``.
            case durable
        }

        /// Events the collector buffers before handing them to the transport. When full, `record` throws
        /// ``FeedbackError/queueFull(capacity:)`` and the event is counted as dropped (`queue_full`).
        public var capacity: Int
        /// Largest encoded event in bytes (Kafka's default message limit is about 1 MB); larger ones are
        /// dropped and counted as `too_large`.
        public var maxEventBytes: Int
        /// Bytes the buffer may hold (events by their approximate size, a response's impressions at 256 bytes
        /// an item): a burst of large events fills it before `capacity` does, and `record` then throws
        /// ``FeedbackError/queueFull(capacity:)`` as for a full count (`queue_full`). Default 64 MiB.
        public var maxBufferedBytes: Int = 64 << 20
        /// Where the collector logs drops and failures (rate-limited: one line per reason per second).
        public var logger: Logger
        public var durability: Durability
        /// How long ``FeedbackCollector/run()`` (the Service) gives shutdown to deliver what is in flight.
        public var shutdownTimeout: Duration

        public init(
            capacity: Int = 100_000, maxEventBytes: Int = 1_000_000,
            logger: Logger = Logger(label: "feedback.collector"), durability: Durability = .bestEffort,
            shutdownTimeout: Duration = .seconds(10)
        ) {
            self.capacity = capacity
            self.maxEventBytes = maxEventBytes
            self.logger = logger
            self.durability = durability
            self.shutdownTimeout = shutdownTimeout
        }

        func validate(transport: any FeedbackTransport) throws(FeedbackError) {
            if durability == .durable && (transport as? any DurableTransport)?.supportsDurability != true {
                throw .invalidConfiguration(
                    "durable mode needs a transport that writes to the local log (the \(transport.name) transport "
                        + "does not): give the Kafka transport a spool, use the local log transport, or use bestEffort")
            }
            if capacity < 1 {
                throw .invalidConfiguration("capacity is \(capacity): use at least 1 (default 100000)")
            }
            if maxBufferedBytes < maxEventBytes {
                throw .invalidConfiguration(
                    "maxBufferedBytes is \(maxBufferedBytes), below maxEventBytes \(maxEventBytes): use at least that")
            }
            if maxEventBytes < 256 {
                throw .invalidConfiguration(
                    "maxEventBytes is \(maxEventBytes): use at least 256 (default 1000000)")
            }
        }
    }
}
