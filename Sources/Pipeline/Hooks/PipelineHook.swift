/// Observes (and may rewrite) a pipeline run: before and after each node, and once when the run ends.
///
/// All methods have do-nothing defaults; implement the ones you need.
///
/// ```swift
/// struct LogFinalSize: PipelineHook {
///     func runDidFinish(_ context: RecommendContext, items: [Item], error: (any Error)?) async {
///         print(context.requestID, items.count)
///     }
/// }
/// ```
public protocol PipelineHook: Sendable {
    /// Called before `node` runs; returns the items it will receive. Throwing stops the run.
    func beforeNode(_ node: any Node, context: RecommendContext, items: [Item]) async throws -> [Item]
    /// Called after `node` ran (or failed with `error`); returns the items the next node receives.
    func afterNode(_ node: any Node, context: RecommendContext, items: [Item], error: (any Error)?) async throws
        -> [Item]
    /// Called once per run with the final output, or the error that ended the run.
    func runDidFinish(_ context: RecommendContext, items: [Item], error: (any Error)?) async
}

extension PipelineHook {
    public func beforeNode(_ node: any Node, context: RecommendContext, items: [Item]) async throws -> [Item] {
        items
    }
    public func afterNode(_ node: any Node, context: RecommendContext, items: [Item], error: (any Error)?)
        async throws -> [Item]
    { items }
    public func runDidFinish(_ context: RecommendContext, items: [Item], error: (any Error)?) async {}
}
