import Pipeline

/// Keeps the first `limit` items: the response size.
///
/// ```swift
/// let pipeline = Pipeline(nodes: [recall, ranker, Truncate(limit: 10)])
/// ```
public struct Truncate: Node {
    public let limit: Int

    public init(limit: Int) {
        self.limit = max(0, limit)
    }

    public var name: String { "postprocess.truncate" }
    public var kind: NodeKind { .postprocess }

    public func process(_ context: RecommendContext, _ items: [Item]) async throws -> [Item] {
        Array(items.prefix(limit))
    }
}
