import Feedback
import Foundation
import Pipeline
import Synchronization
import Testing

/// A transport that answers `busy` while its gate is closed: an unreachable Kafka, under control.
final class GatedTransport: FeedbackTransport {
    let open = Atomic<Bool>(false)
    let inner = InMemoryTransport()
    var name: String { "gated" }
    func start(tracker: DeliveryTracker) { inner.start(tracker: tracker) }
    func send(key: UnsafeRawBufferPointer?, payload: UnsafeRawBufferPointer, token: UInt) -> TransportSendResult {
        open.load(ordering: .acquiring) ? inner.send(key: key, payload: payload, token: token) : .busy
    }
    func flush(timeout: Duration) -> Bool { true }
    func close() {}
}

@Suite struct CollectorTests {
    func events(_ count: Int, user: String = "u") -> [FeedbackEvent] {
        (0..<count).map { FeedbackEvent(type: .click, itemID: "item_\($0)", userID: user, eventID: "e\($0)") }
    }

    @Test func recordedEventsAreDeliveredInOrderWithTheirKeys() async throws {
        let transport = InMemoryTransport()
        let collector = try FeedbackCollector(transport: transport)
        let sent = events(100)
        for event in sent { try collector.record(event) }
        try collector.record(FeedbackEvent(type: .like, itemID: "anon", deviceID: "d1", eventID: "x"))
        try collector.record(FeedbackEvent(type: .like, itemID: "nobody", eventID: "y"))
        let statistics = await collector.shutdown()
        #expect(statistics.recorded == 102 && statistics.delivered == 102 && statistics.pending == 0)
        let messages = transport.messages
        #expect(messages.prefix(100).map(\.payload) == sent.map { $0.jsonBytes() })
        #expect(messages[0].keyString == "u")
        #expect(messages[100].keyString == "d1")
        #expect(messages[101].key == nil)
    }

    @Test func aFullBufferRefusesAndCountsInsteadOfBlocking() async throws {
        let transport = GatedTransport()
        let collector = try FeedbackCollector(transport: transport, configuration: .init(capacity: 10))
        for event in events(10) { try collector.record(event) }
        let started = ContinuousClock.now
        #expect(throws: FeedbackError.queueFull(capacity: 10)) { try collector.record(events(1)[0]) }
        #expect(ContinuousClock.now - started < .milliseconds(50))
        #expect(collector.statistics.droppedByReason == [.queueFull: 1])
        transport.open.store(true, ordering: .releasing)
        #expect(await collector.flush(timeout: .seconds(5)))
        let statistics = await collector.shutdown()
        #expect(statistics.delivered == 10 && statistics.dropped == 1 && statistics.recorded == 11)
    }

    /// A burst of large events fills the buffer by its bytes long before its count: memory stays bounded.
    @Test func aBurstOfLargeEventsIsBoundedByBytesNotJustByCount() async throws {
        let transport = GatedTransport()
        var configuration = FeedbackCollector.Configuration(capacity: 100_000)
        configuration.maxBufferedBytes = 1 << 20
        let collector = try FeedbackCollector(transport: transport, configuration: configuration)
        let large = String(repeating: "x", count: 100_000)
        var accepted = 0
        for index in 0..<50 {
            var event = FeedbackEvent(type: .click, itemID: "item", userID: "u", eventID: "big\(index)")
            event.extras["note"] = .string(large)
            do {
                try collector.record(event)
                accepted += 1
            } catch {
                #expect(error == .queueFull(capacity: 100_000))
            }
        }
        #expect((9...10).contains(accepted), "\(accepted) events of ~100 KB in a 1 MiB buffer")
        #expect(collector.statistics.droppedByReason[.queueFull] == 50 - accepted)
        // Small events still fit once the large ones are gone.
        transport.open.store(true, ordering: .releasing)
        #expect(await collector.flush(timeout: .seconds(5)))
        try collector.record(events(1)[0])
        let statistics = await collector.shutdown()
        #expect(statistics.delivered == accepted + 1 && statistics.pending == 0, "\(statistics)")
        #expect(throws: FeedbackError.self) {
            var tooSmall = FeedbackCollector.Configuration()
            tooSmall.maxBufferedBytes = 1000
            _ = try FeedbackCollector(transport: InMemoryTransport(), configuration: tooSmall)
        }
    }

    /// Impressions are held to the wire format's limits as `record` holds events: a NUL or oversized item id
    /// drops that impression alone (counted), a bad context refuses the response.
    @Test func impressionsAreHeldToTheWireFormatLimits() async throws {
        let transport = InMemoryTransport()
        let collector = try FeedbackCollector(transport: transport)
        let items = [Item(id: "a"), Item(id: "b\u{0}x"), Item(id: String(repeating: "c", count: 600)), Item(id: "d")]
        try collector.recordImpressions(of: items, context: RecommendContext(requestID: "r1", userID: "u"))
        #expect(throws: FeedbackError.self) {
            try collector.recordImpressions(
                of: [Item(id: "a")], context: RecommendContext(requestID: "r2", userID: "alice\u{0}x"))
        }
        let statistics = await collector.shutdown()
        #expect(statistics.delivered == 2 && statistics.droppedByReason[.invalid] == 3, "\(statistics)")
    }

    @Test func shutdownWithAStuckTransportCountsWhatItCouldNotSend() async throws {
        let collector = try FeedbackCollector(transport: GatedTransport())
        for event in events(50) { try collector.record(event) }
        let statistics = await collector.shutdown(timeout: .milliseconds(200))
        #expect(statistics.recorded == 50)
        #expect(statistics.droppedByReason[.shutdownTimeout] == 50)
        #expect(statistics.pending == 0)
    }

    @Test func recordingAfterShutdownIsAnExplicitCountedError() async throws {
        let collector = try FeedbackCollector(transport: InMemoryTransport())
        await collector.shutdown()
        #expect(throws: FeedbackError.closed) { try collector.record(events(1)[0]) }
        #expect(throws: FeedbackError.closed) {
            try collector.recordImpressions(of: [Item(id: "a"), Item(id: "b")], context: RecommendContext())
        }
        #expect(collector.statistics.droppedByReason == [.closed: 3])
        #expect(collector.statistics.recorded == 3)
        #expect(await collector.shutdown().recorded == 3)  // idempotent
    }

    @Test func invalidAndOversizedEventsAreDroppedAloneAndCounted() async throws {
        let transport = InMemoryTransport()
        let collector = try FeedbackCollector(transport: transport, configuration: .init(maxEventBytes: 1000))
        #expect(throws: FeedbackError.self) { try collector.record(FeedbackEvent(type: .click, itemID: "")) }
        try collector.record(
            FeedbackEvent(type: .click, itemID: "big", extras: ["blob": .string(String(repeating: "x", count: 5000))]))
        try collector.record(events(1)[0])
        try collector.recordImpressions(of: [Item(id: "ok"), Item(id: "")], context: RecommendContext(userID: "u"))
        let statistics = await collector.shutdown()
        #expect(statistics.droppedByReason == [.invalid: 2, .tooLarge: 1])
        #expect(statistics.delivered == 2 && statistics.recorded == 5)
        #expect(
            transport.messages.map { $0.json.contains("\"item_id\":\"item_0\"") || $0.json.contains("\"ok\"") } == [
                true, true,
            ])
    }

    @Test func badConfigurationIsRefusedWithAFix() {
        #expect(throws: FeedbackError.invalidConfiguration("capacity is 0: use at least 1 (default 100000)")) {
            try FeedbackCollector(transport: InMemoryTransport(), configuration: .init(capacity: 0))
        }
    }
}

@Suite struct FeedbackHookTests {
    @Test func onlyTheFinalOutputIsRecordedOncePerRunWithTheRequestID() async throws {
        let transport = InMemoryTransport()
        let collector = try FeedbackCollector(transport: transport)
        let candidates = (0..<50).map {
            Item(
                id: "item_\($0)", score: Double($0),
                labels: ["recall_source": Label(value: "hot", source: "recall.hot")])
        }
        let pipeline = Pipeline(
            nodes: [Replace(items: candidates), Reverse(), Prefix(count: 10)],
            hooks: [FeedbackHook(collector: collector)])
        let context = RecommendContext(userID: "user_1", deviceID: "dev_1", scene: "feed")
        let output = try await pipeline.run(context)
        await collector.shutdown()

        let events = try transport.messages.map {
            try #require(JSONSerialization.jsonObject(with: Data($0.payload)) as? [String: Any])
        }
        #expect(events.count == 10)
        #expect(events.map { $0["item_id"] as? String } == output.map(\.id))
        #expect(events.map { $0["position"] as? Int } == Array(0..<10))
        #expect(events.allSatisfy { $0["request_id"] as? String == context.requestID })
        #expect(events.allSatisfy { $0["type"] as? String == "impression" && $0["device_id"] as? String == "dev_1" })
        #expect(events.first?["score"] as? Double == 49)
        #expect((events.first?["labels"] as? [String: String]) == ["recall_source": "hot"])
        #expect(Set(events.compactMap { $0["event_id"] as? String }).count == 10)
    }

    @Test func aFailedRunRecordsNothing() async throws {
        let transport = InMemoryTransport()
        let collector = try FeedbackCollector(transport: transport)
        let pipeline = Pipeline(
            nodes: [Replace(items: [Item(id: "a")]), Fail()], hooks: [FeedbackHook(collector: collector)])
        await #expect(throws: PipelineError.self) { try await pipeline.run(RecommendContext(userID: "u")) }
        await collector.shutdown()
        #expect(transport.messages.isEmpty)
    }
}

struct Replace: Node {
    let items: [Item]
    var name: String { "recall.fixed" }
    var kind: NodeKind { .recall }
    func process(_ context: RecommendContext, _ input: [Item]) async throws -> [Item] { items }
}

struct Reverse: Node {
    var name: String { "rank.reverse" }
    var kind: NodeKind { .rank }
    func process(_ context: RecommendContext, _ items: [Item]) async throws -> [Item] { items.reversed() }
}

struct Prefix: Node {
    let count: Int
    var name: String { "postprocess.prefix" }
    var kind: NodeKind { .postprocess }
    func process(_ context: RecommendContext, _ items: [Item]) async throws -> [Item] { Array(items.prefix(count)) }
}

struct Fail: Node {
    var name: String { "rank.fail" }
    var kind: NodeKind { .rank }
    func process(_ context: RecommendContext, _ items: [Item]) async throws -> [Item] {
        throw PipelineError(code: .nodeFailed, message: "boom", module: .pipeline)
    }
}
