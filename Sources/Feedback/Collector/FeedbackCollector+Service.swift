import ServiceLifecycle

extension FeedbackCollector: Service {
    /// Runs until graceful shutdown (SIGTERM, SIGINT, via a `ServiceGroup`), then shuts down: stops taking
    /// events, delivers what is buffered and in flight within `configuration.shutdownTimeout`, and leaves
    /// the rest counted — spooled, with a spool, for the next start to replay.
    ///
    /// ```swift
    /// let group = ServiceGroup(
    ///     services: [collector, server], gracefulShutdownSignals: [.sigterm], logger: logger)
    /// try await group.run()
    /// ```
    public func run() async throws {
        try? await gracefulShutdown()
        await shutdown(timeout: shutdownTimeout)
    }
}
