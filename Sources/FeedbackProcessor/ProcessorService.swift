import Feedback
import Logging
import ServiceLifecycle
import Synchronization

/// The processor as a swift-service-lifecycle `Service`: processes batch after batch until the service
/// group shuts down (SIGTERM), then finishes the batch in hand and stops. A failed batch (Redis or
/// ClickHouse down, disk full) is rolled back and retried after `retryDelay`, doubling up to a minute;
/// a configuration or damaged-state error ends the service. When the source has nothing, the next batch
/// waits for it (Kafka: up to `pollTimeout` inside the poll; the local log, which cannot be waited on: read
/// again after `idleDelay`).
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
    /// The processor, handed over to the service (`sending`) and used by one batch at a time, and what its
    /// batches did.
    private let state: Mutex<(processor: FeedbackProcessor, total: ProcessorStatistics)>
    private let idleDelay: Duration
    private let pollTimeout: Duration
    private let retryDelay: Duration
    private let logger: Logger

    /// `pollTimeout`: how long one batch waits for its first record (also how soon a shutdown is seen when
    /// the source is idle).
    public init(
        processor: sending FeedbackProcessor, pollTimeout: Duration = .milliseconds(500),
        retryDelay: Duration = .seconds(1),
        idleDelay: Duration = .milliseconds(200), logger: Logger = Logger(label: "feedback.processor")
    ) {
        self.idleDelay = idleDelay
        state = Mutex((processor, ProcessorStatistics()))
        self.pollTimeout = pollTimeout
        self.retryDelay = retryDelay
        self.logger = logger
    }

    /// What the service's batches did so far.
    public var statistics: ProcessorStatistics { state.withLock { $0.total } }

    /// Runs `body` with the processor between batches (for what follows the service: closing windows, reading
    /// a profile).
    public func withProcessor<Value: Sendable>(
        _ body: (FeedbackProcessor) throws(ProcessorError) -> Value
    ) throws(ProcessorError) -> Value {
        try state.withLock { state throws(ProcessorError) in try body(state.processor) }
    }

    private func batch() -> Result<ProcessorStatistics, ProcessorError> {
        state.withLock { state in
            let outcome = Result { () throws(ProcessorError) in try state.processor.processBatch(timeout: pollTimeout) }
            if case .success(let batch) = outcome { state.total.add(batch) }
            return outcome
        }
    }

    public func run() async throws {
        var delay = retryDelay
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            // Blocking work (SQLite, librdkafka) on a thread of its own, not on the cooperative pool.
            let outcome = await onDedicatedThread(name: "feedback-processor") { self.batch() }
            switch outcome {
            case .success(let batch):
                delay = retryDelay
                // Nothing was ready. A Kafka source waited `pollTimeout` for it already; the local log cannot be
                // waited on (SQLite wakes no other process), so it is read again after `idleDelay`.
                if batch.processed + batch.duplicates + batch.failed == 0 {
                    try? await cancelWhenGracefulShutdown { try await Task.sleep(for: self.idleDelay) }
                }
                continue
            case .failure: break
            }
            guard case .failure(let error) = outcome else { continue }
            switch error {
            case .configuration, .damagedState: throw error
            default:
                logger.error("batch failed, retrying", metadata: ["error": "\(error)", "in": "\(delay)"])
                try? await cancelWhenGracefulShutdown { [delay] in try await Task.sleep(for: delay) }
                delay = min(delay * 2, .seconds(60))
            }
        }
    }
}
