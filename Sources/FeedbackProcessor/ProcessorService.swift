import Feedback
import Logging
import ServiceLifecycle
import Synchronization

/// The processor as a swift-service-lifecycle `Service`: processes batch after batch until the service
/// group shuts down (SIGTERM), then finishes the batch in hand and stops. A failed batch (Redis or
/// ClickHouse down, disk full) is rolled back and retried after `retryDelay`, doubling up to a minute;
/// a configuration or damaged-state error ends the service.
///
/// The processor's helper threads (the poll read ahead, the profile folder, the sample writer, the
/// checkpointer) belong to it and end with it: `run()` returns only once the last batch is done.
///
/// ```swift
/// let service = ProcessorService(processor: try FeedbackProcessor(source: source, configuration: configuration))
/// let group = ServiceGroup(services: [service], gracefulShutdownSignals: [.sigterm], logger: logger)
/// try await group.run()
/// ```
public final class ProcessorService: Service {
    /// The processor, handed over to the service (`sending`) and used by one batch at a time.
    private let processor: Mutex<FeedbackProcessor>
    private let pollTimeout: Duration
    private let retryDelay: Duration
    private let logger: Logger

    /// `pollTimeout`: how long one batch waits for its first record (also how soon a shutdown is seen when
    /// the source is idle).
    public init(
        processor: sending FeedbackProcessor, pollTimeout: Duration = .milliseconds(500), retryDelay: Duration = .seconds(1),
        logger: Logger = Logger(label: "feedback.processor")
    ) {
        self.processor = Mutex(processor)
        self.pollTimeout = pollTimeout
        self.retryDelay = retryDelay
        self.logger = logger
    }

    private func batch() -> Result<ProcessorStatistics, ProcessorError> {
        processor.withLock { processor in
            Result { () throws(ProcessorError) in try processor.processBatch(timeout: pollTimeout) }
        }
    }

    public func run() async throws {
        var delay = retryDelay
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            // Blocking work (SQLite, librdkafka) on a thread of its own, not on the cooperative pool.
            let outcome = await onDedicatedThread(name: "feedback-processor") { self.batch() }
            guard case .failure(let error) = outcome else {
                delay = retryDelay
                continue
            }
            switch error {
            case .configuration, .damagedState: throw error
            default:
                logger.error("batch failed, retrying", metadata: ["error": "\(error)", "in": "\(delay)"])
                try? await Task.sleep(for: delay)
                delay = min(delay * 2, .seconds(60))
            }
        }
    }
}
