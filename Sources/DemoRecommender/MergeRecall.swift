import Pipeline

/// Runs several recall sources concurrently and merges their candidates by id. An item found by several
/// sources keeps its best score and a `recall_source` naming them all in order ("hot|ann"), as reckit does.
///
/// ```swift
/// let recall = MergeRecall(sources: [hot, personal, fresh])
/// ```
public struct MergeRecall: Node {
    public let sources: [any Node]

    public init(sources: [any Node]) {
        self.sources = sources
    }

    public var name: String { "recall.merge" }
    public var kind: NodeKind { .recall }

    public func process(_ context: RecommendContext, _ input: [Item]) async throws -> [Item] {
        let results = try await withThrowingTaskGroup(of: (Int, [Item]).self) { group in
            for (index, source) in sources.enumerated() {
                group.addTask { (index, try await source.process(context, input)) }
            }
            var results = [[Item]](repeating: [], count: sources.count)
            for try await (index, items) in group { results[index] = items }
            return results
        }
        var merged: [Item] = []
        var indexByID: [String: Int] = [:]
        for items in results {
            for item in items {
                guard let index = indexByID[item.id] else {
                    indexByID[item.id] = merged.count
                    merged.append(item)
                    continue
                }
                let source = item.labels["recall_source"]?.value ?? ""
                let existing = merged[index].labels["recall_source"]?.value ?? ""
                merged[index].labels["recall_source"] = Label(
                    value: existing.isEmpty ? source : existing + "|" + source, source: name)
                merged[index].score = max(merged[index].score, item.score)
            }
        }
        return merged
    }
}
