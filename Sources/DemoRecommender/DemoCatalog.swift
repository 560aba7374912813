import Pipeline

/// A deterministic catalog of items with categories, prices and features, and the demo pipeline over it:
/// three recall sources (hot, personal, fresh) merged, a linear ranker, and a truncation to `pageSize`.
///
/// ```swift
/// let catalog = DemoCatalog(itemCount: 500, seed: 42)
/// let pipeline = catalog.pipeline(pageSize: 10, hooks: [FeedbackHook(collector: collector)])
/// ```
public struct DemoCatalog: Sendable {
    public static let categories = ["books", "music", "games", "sports", "home", "fashion"]
    public let items: [Item]

    public init(itemCount: Int = 500, seed: UInt64 = 42) {
        var random = DemoRandom(seed: seed)
        items = (0..<itemCount).map { index in
            let category = Self.categories[index % Self.categories.count]
            return Item(
                id: "item_\(index)",
                score: 0,
                features: [
                    "ctr": random.unit() * 0.2,
                    "freshness": random.unit(),
                    "quality": random.unit(),
                ],
                meta: ["category": .string(category), "price": .double((random.unit() * 100).rounded() + 0.99)])
        }
    }

    /// The candidates each recall source returns for a user (the personal source depends on the user).
    public func recallSources(for userIndex: Int) -> [any Node] {
        let hot = items.sorted { ($0.features["ctr"] ?? 0) > ($1.features["ctr"] ?? 0) }.prefix(40)
        let fresh = items.sorted { ($0.features["freshness"] ?? 0) > ($1.features["freshness"] ?? 0) }.prefix(40)
        let category = Self.categories[userIndex % Self.categories.count]
        let personal = items.filter { $0.meta["category"] == .string(category) }.prefix(40)
        return [
            StaticRecall(source: "hot", items: hot.map { Self.withScore($0, 0.5) }),
            StaticRecall(source: "personal", items: personal.map { Self.withScore($0, 0.8) }),
            StaticRecall(source: "fresh", items: fresh.map { Self.withScore($0, 0.3) }),
        ]
    }

    /// The demo pipeline for one user.
    public func pipeline(forUser userIndex: Int, pageSize: Int = 10, hooks: [any PipelineHook] = []) -> Pipeline {
        Pipeline(
            nodes: [
                MergeRecall(sources: recallSources(for: userIndex)),
                LinearRanker(weights: ["ctr": 3.0, "freshness": 0.3, "quality": 0.5]),
                Truncate(limit: pageSize),
            ],
            hooks: hooks)
    }

    private static func withScore(_ item: Item, _ score: Double) -> Item {
        var item = item
        item.score = score
        return item
    }
}

/// A seeded generator, so the demo's traffic is the same every run.
public struct DemoRandom: RandomNumberGenerator, Sendable {
    private var state: UInt64

    public init(seed: UInt64) {
        state = seed &+ 0x9E37_79B9_7F4A_7C15
    }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A uniform value in [0, 1).
    public mutating func unit() -> Double {
        Double(next() >> 11) / Double(1 << 53)
    }
}
