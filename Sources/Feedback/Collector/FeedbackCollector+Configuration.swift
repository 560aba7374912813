import Logging

extension FeedbackCollector {
    /// Bounds and logging of a collector; every field has a safe default.
    ///
    /// ```swift
    /// var configuration = FeedbackCollector.Configuration()
    /// configuration.capacity = 50_000
    /// ```
    public struct Configuration: Sendable {
        /// Events the collector buffers before handing them to the transport. When full, `record` throws
        /// ``FeedbackError/queueFull(capacity:)`` and the event is counted as dropped (`queue_full`).
        public var capacity: Int
        /// Largest encoded event in bytes (Kafka's default message limit is about 1 MB); larger ones are
        /// dropped and counted as `too_large`.
        public var maxEventBytes: Int
        /// Where the collector logs drops and failures (rate-limited: one line per reason per second).
        public var logger: Logger

        public init(
            capacity: Int = 100_000, maxEventBytes: Int = 1_000_000,
            logger: Logger = Logger(label: "feedback.collector")
        ) {
            self.capacity = capacity
            self.maxEventBytes = maxEventBytes
            self.logger = logger
        }

        func validate() throws(FeedbackError) {
            if capacity < 1 {
                throw .invalidConfiguration("capacity is \(capacity): use at least 1 (default 100000)")
            }
            if maxEventBytes < 256 {
                throw .invalidConfiguration(
                    "maxEventBytes is \(maxEventBytes): use at least 256 (default 1000000)")
            }
        }
    }
}
