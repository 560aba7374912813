import DemoRecommender
import Pipeline
import Synchronization
import Testing

/// A node that appends its name to every item's trail, or fails.
struct TrailNode: Node {
    let name: String
    var kind: NodeKind = .filter
    var fails = false

    func process(_ context: RecommendContext, _ items: [Item]) async throws -> [Item] {
        if fails { throw PipelineError(code: .nodeFailed, message: "\(name) failed", module: .pipeline) }
        return items.map { item in
            var item = item
            item.meta["trail", default: ""] = .string(trail(item) + name)
            return item
        }
    }

    func trail(_ item: Item) -> String {
        if case .string(let text) = item.meta["trail"] { return text }
        return ""
    }
}

/// Records every hook call as a line.
final class RecordingHook: PipelineHook {
    let calls = Mutex<[String]>([])

    func beforeNode(_ node: any Node, context: RecommendContext, items: [Item]) async throws -> [Item] {
        calls.withLock { $0.append("before \(node.name) \(items.count)") }
        return items
    }

    func afterNode(_ node: any Node, context: RecommendContext, items: [Item], error: (any Error)?) async throws
        -> [Item]
    {
        calls.withLock { $0.append("after \(node.name) \(items.count) \(error == nil ? "ok" : "error")") }
        return items
    }

    func runDidFinish(_ context: RecommendContext, items: [Item], error: (any Error)?) async {
        calls.withLock { $0.append("finish \(items.count) \(error == nil ? "ok" : "error")") }
    }
}

struct RecoverFilters: ErrorHook {
    func nodeDidFail(_ node: any Node, context: RecommendContext, items: [Item], error: any Error) async -> Bool {
        node.kind == .filter
    }
}

@Suite struct PipelineTests {
    let start = [Item(id: "a"), Item(id: "b")]

    @Test func nodesRunInOrderWithHooksAroundEachAndOnceAtTheEnd() async throws {
        let hook = RecordingHook()
        let pipeline = Pipeline(nodes: [TrailNode(name: "1"), TrailNode(name: "2")], hooks: [hook])
        let items = try await pipeline.run(RecommendContext(userID: "u"), items: start)
        #expect(items.map { $0.meta["trail"] } == [.string("12"), .string("12")])
        #expect(
            hook.calls.withLock { $0 } == [
                "before 1 2", "after 1 2 ok", "before 2 2", "after 2 2 ok", "finish 2 ok",
            ])
    }

    @Test func aRecoveredNodeIsSkippedAndThePreviousItemsKept() async throws {
        let pipeline = Pipeline(
            nodes: [TrailNode(name: "1"), TrailNode(name: "bad", fails: true), TrailNode(name: "3")],
            errorHooks: [RecoverFilters()])
        let items = try await pipeline.run(RecommendContext(), items: start)
        #expect(items.map { $0.meta["trail"] } == [.string("13"), .string("13")])
    }

    @Test func anUnrecoveredFailureEndsTheRunAndHooksSeeIt() async throws {
        let hook = RecordingHook()
        let pipeline = Pipeline(
            nodes: [TrailNode(name: "bad", kind: .rank, fails: true), TrailNode(name: "never")],
            hooks: [hook], errorHooks: [RecoverFilters()])
        await #expect(throws: PipelineError.self) { try await pipeline.run(RecommendContext(), items: start) }
        #expect(hook.calls.withLock { $0 } == ["before bad 2", "after bad 2 error", "finish 0 error"])
    }

    @Test func aCancelledRunStopsBeforeTheNextNode() async throws {
        let pipeline = Pipeline(nodes: [TrailNode(name: "1")])
        let task = Task {
            withUnsafeCurrentTask { $0?.cancel() }
            return try await pipeline.run(RecommendContext(), items: [])
        }
        await #expect(throws: CancellationError.self) { try await task.value }
    }

    @Test func mergeRecallJoinsSourcesInOrderAndKeepsTheBestScore() async throws {
        let hot = StaticRecall(source: "hot", items: [Item(id: "x", score: 0.2), Item(id: "y", score: 0.5)])
        let ann = StaticRecall(source: "ann", items: [Item(id: "x", score: 0.9), Item(id: "z", score: 0.1)])
        let merged = try await MergeRecall(sources: [hot, ann]).process(RecommendContext(), [])
        #expect(merged.map(\.id) == ["x", "y", "z"])
        #expect(merged[0].labels["recall_source"]?.value == "hot|ann")
        #expect(merged[0].labels["recall_type"]?.value == "hot")
        #expect(merged[0].score == 0.9)
        #expect(merged[2].labels["recall_source"] == Label(value: "ann", source: "recall.ann"))
    }

    @Test func rankerSortsByWeightedFeaturesAndTruncateCuts() async throws {
        let items = [
            Item(id: "low", score: 0, features: ["ctr": 0.1]),
            Item(id: "high", score: 0, features: ["ctr": 0.5]),
            Item(id: "mid", score: 0.2, features: ["ctr": 0.1]),
        ]
        let ranked = try await LinearRanker(weights: ["ctr": 1]).process(RecommendContext(), items)
        #expect(ranked.map(\.id) == ["high", "mid", "low"])
        let cut = try await Truncate(limit: 2).process(RecommendContext(), ranked)
        #expect(cut.map(\.id) == ["high", "mid"])
    }

    @Test func theDemoPipelineReturnsAPageOfLabelledItems() async throws {
        let catalog = DemoCatalog(itemCount: 200, seed: 1)
        let items = try await catalog.pipeline(forUser: 3, pageSize: 10).run(RecommendContext(userID: "user_3"))
        #expect(items.count == 10)
        #expect(items.allSatisfy { $0.labels["recall_source"] != nil && $0.labels["recall_type"] != nil })
        #expect(zip(items, items.dropFirst()).allSatisfy { $0.score >= $1.score })
    }

    @Test func requestIDsAreTimeOrderedVersion7UUIDs() throws {
        let ids = (0..<1000).map { _ in TimeOrderedID.make() }
        #expect(Set(ids).count == 1000)
        for id in ids.prefix(10) {
            #expect(id.count == 36)
            let characters = Array(id)
            #expect(characters[14] == "7")
            #expect("89ab".contains(characters[19]))
            #expect([8, 13, 18, 23].allSatisfy { characters[$0] == "-" })
        }
        var generator = DemoRandom(seed: 1)
        let earlier = TimeOrderedID.make(milliseconds: 1_000, using: &generator)
        let later = TimeOrderedID.make(milliseconds: 2_000, using: &generator)
        #expect(earlier < later)
        #expect(earlier.hasPrefix("00000000-03e8-7"))
        #expect(RecommendContext().requestID != RecommendContext().requestID)
    }
}
