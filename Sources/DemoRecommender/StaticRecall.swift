import Pipeline

/// A recall source returning a fixed candidate list, labelled with `recall_source` and `recall_type`.
///
/// ```swift
/// let hot = StaticRecall(source: "hot", items: catalog.hottest(50))
/// ```
public struct StaticRecall: Node {
    public let source: String
    public let items: [Item]

    public init(source: String, items: [Item]) {
        self.source = source
        self.items = items
    }

    public var name: String { "recall.\(source)" }
    public var kind: NodeKind { .recall }

    public func process(_ context: RecommendContext, _ input: [Item]) async throws -> [Item] {
        items.map { item in
            var item = item
            item.labels["recall_source"] = Label(value: source, source: name)
            item.labels["recall_type"] = Label(value: source, source: name)
            return item
        }
    }
}
