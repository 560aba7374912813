/// A candidate item flowing through the pipeline.
///
/// ```swift
/// var item = Item(id: "item_456", score: 0.85)
/// item.labels["recall_source"] = Label(value: "hot", source: "recall.hot")
/// ```
public struct Item: Sendable, Hashable {
    public var id: String
    public var score: Double
    /// Numeric features used by rankers.
    public var features: [String: Double]
    /// Free-form metadata (category, price, ...).
    public var meta: [String: AttributeValue]
    /// Labels such as `recall_source`, `recall_type`, set by the nodes that touched the item.
    public var labels: [String: Label]

    public init(
        id: String, score: Double = 0, features: [String: Double] = [:], meta: [String: AttributeValue] = [:],
        labels: [String: Label] = [:]
    ) {
        self.id = id
        self.score = score
        self.features = features
        self.meta = meta
        self.labels = labels
    }
}
