/// Runs nodes in order, each one's output the next one's input, with hooks around every node and the run.
///
/// ```swift
/// let pipeline = Pipeline(
///     nodes: [recall, ranker, Truncate(limit: 10)],
///     hooks: [FeedbackHook(collector: collector)])
/// let items = try await pipeline.run(RecommendContext(userID: "user_123", scene: "feed"))
/// ```
///
/// Cancellation is checked before every node: a cancelled task ends the run with `CancellationError`.
public struct Pipeline: Sendable {
    public var nodes: [any Node]
    public var hooks: [any PipelineHook]
    public var errorHooks: [any ErrorHook]

    public init(nodes: [any Node], hooks: [any PipelineHook] = [], errorHooks: [any ErrorHook] = []) {
        self.nodes = nodes
        self.hooks = hooks
        self.errorHooks = errorHooks
    }

    /// Runs the pipeline from `items` (empty for a pipeline that starts with recall) and returns the final items.
    public func run(_ context: RecommendContext, items: [Item] = []) async throws -> [Item] {
        do {
            let output = try await runNodes(context, items: items)
            for hook in hooks { await hook.runDidFinish(context, items: output, error: nil) }
            return output
        } catch {
            for hook in hooks { await hook.runDidFinish(context, items: [], error: error) }
            throw error
        }
    }

    private func runNodes(_ context: RecommendContext, items: [Item]) async throws -> [Item] {
        var current = items
        for node in nodes {
            try Task.checkCancellation()
            for hook in hooks { current = try await hook.beforeNode(node, context: context, items: current) }
            var output = current
            var failure: (any Error)?
            do {
                output = try await node.process(context, current)
            } catch {
                if error is CancellationError { throw error }
                var recovered = false
                for errorHook in errorHooks
                where await errorHook.nodeDidFail(node, context: context, items: current, error: error) {
                    recovered = true
                    break
                }
                if !recovered { failure = error }
                output = current
            }
            for hook in hooks {
                output = try await hook.afterNode(node, context: context, items: output, error: failure)
            }
            if let failure { throw failure }
            current = output
        }
        return current
    }
}
