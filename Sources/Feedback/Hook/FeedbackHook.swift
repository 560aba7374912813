import Pipeline

/// Records the impressions of each pipeline run: the *final* output only, once per run (not the candidates
/// of every node), with position = final rank, the item's score and labels, and the run's `requestID`.
///
/// ```swift
/// let pipeline = Pipeline(nodes: nodes, hooks: [FeedbackHook(collector: collector)])
/// let context = RecommendContext(userID: "user_123", scene: "feed")
/// let items = try await pipeline.run(context)
/// // hand context.requestID to the client, which sends it back with its clicks
/// ```
///
/// Recording never fails the run: a refused impression is already counted and logged by the collector.
public struct FeedbackHook: PipelineHook {
    public let collector: FeedbackCollector

    public init(collector: FeedbackCollector) {
        self.collector = collector
    }

    public func runDidFinish(_ context: RecommendContext, items: [Item], error: (any Error)?) async {
        guard error == nil else { return }
        try? collector.recordImpressions(of: items, context: context)
    }
}
