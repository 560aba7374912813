import Pipeline

/// Scores items by a weighted sum of their features (plus the recall score) and sorts them best first;
/// ties keep a stable order by id so runs are deterministic.
///
/// ```swift
/// let ranker = LinearRanker(weights: ["ctr": 3.0, "freshness": 0.5])
/// ```
public struct LinearRanker: Node {
    /// Feature weights, sorted by name: summing in a fixed order keeps scores identical across processes
    /// (dictionary order is seeded per process, and floating-point addition is not associative).
    public let weights: [(feature: String, weight: Double)]
    public let recallWeight: Double

    public init(weights: [String: Double], recallWeight: Double = 1.0) {
        self.weights = weights.sorted { $0.key < $1.key }.map { (feature: $0.key, weight: $0.value) }
        self.recallWeight = recallWeight
    }

    public var name: String { "rank.linear" }
    public var kind: NodeKind { .rank }

    public func process(_ context: RecommendContext, _ items: [Item]) async throws -> [Item] {
        items.map { item in
            var item = item
            var score = item.score * recallWeight
            for (feature, weight) in weights { score += (item.features[feature] ?? 0) * weight }
            item.score = score
            return item
        }
        .sorted { $0.score != $1.score ? $0.score > $1.score : $0.id < $1.id }
    }
}
