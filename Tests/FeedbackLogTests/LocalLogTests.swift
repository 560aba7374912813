import Feedback
import FeedbackLog
import Foundation
import Pipeline
import TestSupport
import Testing

func entry(_ text: String, key: String? = "k") -> LogEntry {
    LogEntry(key: key.map { Array($0.utf8) }, payload: Array(text.utf8))
}

@Suite struct LocalLogTests {
    @Test func appendReadAcknowledgeAndReopen() throws {
        let path = temporaryPath("log.sqlite")
        do {
            let log = try LocalLog(configuration: .init(path: path))
            #expect(try log.append([entry("a"), entry("b", key: nil)]) == 1...2)
            #expect(try log.append([entry("c")]) == 3...3)
            let records = try log.read(after: 0, limit: 10)
            #expect(records.map { String(decoding: $0.payload, as: UTF8.self) } == ["a", "b", "c"])
            #expect(records[1].key == nil && records[0].key == Array("k".utf8))
            try log.acknowledge(through: 2)
            #expect(try log.read(after: 0, limit: 10).map(\.offset) == [3])
        }
        let reopened = try LocalLog(configuration: .init(path: path))
        let statistics = try reopened.statistics()
        #expect(statistics.records == 1 && statistics.bytes == 2 && statistics.firstOffset == 3)
        #expect(try reopened.append([entry("d")]) == 4...4, "offsets are never reused")
        #expect(try reopened.integrityCheck() == "ok")
    }

    @Test func theCapRefusesOrEvictsAsConfigured() throws {
        let strict = try LocalLog(configuration: .init(path: temporaryPath("strict.sqlite"), maxBytes: 100))
        try strict.append([entry(String(repeating: "x", count: 60))])
        #expect(throws: LocalLogError.self) { try strict.append([entry(String(repeating: "y", count: 60))]) }
        #expect(try strict.statistics().records == 1)

        let evicting = try LocalLog(
            configuration: .init(path: temporaryPath("evict.sqlite"), maxBytes: 100, overflow: .dropOldest))
        for index in 0..<5 { try evicting.append([entry("\(index)" + String(repeating: "z", count: 39))]) }
        let statistics = try evicting.statistics()
        #expect(statistics.bytes <= 100 && statistics.records == 2 && statistics.evicted == 3)
        #expect(
            try evicting.read(after: 0, limit: 10).map { $0.payload.first } == [UInt8(ascii: "3"), UInt8(ascii: "4")])
    }

    @Test func consumersResumeFromTheirCommittedOffset() async throws {
        let log = try LocalLog(configuration: .init(path: temporaryPath("consumer.sqlite")))
        try log.append((0..<10).map { entry("e\($0)") })
        let first = try LogConsumer(log: log, name: "processor")
        let batch = try await first.poll(max: 4)
        #expect(batch.map(\.offset) == [1, 2, 3, 4])
        try first.commit(through: 4)
        #expect(try await first.poll(max: 100).count == 6)  // read but not committed
        let restarted = try LogConsumer(log: log, name: "processor")
        #expect(try await restarted.poll(max: 100).map(\.offset) == Array(5...10))
        let other = try LogConsumer(log: log, name: "audit")
        #expect(try await other.poll(max: 1).map(\.offset) == [1])
        #expect(try await restarted.poll(max: 10, timeout: .milliseconds(50)).isEmpty)
    }
}

@Suite struct EmbeddedCollectorTests {
    @Test(arguments: [FeedbackCollector.Configuration.Durability.bestEffort, .durable])
    func theEmbeddedDefaultWritesEveryEventToTheLocalLog(durability: FeedbackCollector.Configuration.Durability)
        async throws
    {
        let path = temporaryPath("events.sqlite")
        let collector = try FeedbackCollector.embedded(path: path, durability: durability)
        let context = RecommendContext(userID: "u1", scene: "feed")
        try collector.recordImpressions(of: (0..<20).map { Item(id: "item_\($0)") }, context: context)
        try collector.recordClick(itemID: "item_3", position: 3, context: context)
        if durability == .durable {
            // Durable: on disk before record returned, without any flush.
            #expect(try LocalLog(configuration: .init(path: path)).statistics().records == 21)
        }
        let statistics = await collector.shutdown()
        #expect(statistics.delivered == 21 && statistics.pending == 0, "\(statistics)")
        let records = try LocalLog(configuration: .init(path: path)).read(after: 0, limit: 100)
        #expect(records.count == 21)
        let click = try #require(JSONSerialization.jsonObject(with: Data(records[20].payload)) as? [String: Any])
        #expect(click["type"] as? String == "click" && click["request_id"] as? String == context.requestID)
        #expect(records[0].key == Array("u1".utf8))
    }

    @Test func aFullLogIsACountedDropAndAnExplicitErrorInDurableMode() async throws {
        let collector = try FeedbackCollector.embedded(
            path: temporaryPath("small.sqlite"), maxBytes: 2000, durability: .durable)
        var refused = 0
        for index in 0..<20 {
            do { try collector.record(FeedbackEvent(type: .click, itemID: "item_\(index)", userID: "u")) } catch {
                refused += 1
                #expect(error.description.contains("full"))
            }
        }
        let statistics = await collector.shutdown()
        #expect(refused > 0 && statistics.droppedByReason[.logFull] == refused)
        #expect(statistics.delivered + refused == 20 && statistics.pending == 0)
    }

    @Test func durableModeNeedsADurableTransport() {
        #expect(throws: FeedbackError.self) {
            try FeedbackCollector(transport: InMemoryTransport(), configuration: .init(durability: .durable))
        }
    }

    @Test func concurrentDurableRecordsShareCommits() async throws {
        let path = temporaryPath("group.sqlite")
        let collector = try FeedbackCollector.embedded(path: path, durability: .durable)
        await withTaskGroup(of: Void.self) { group in
            for worker in 0..<8 {
                group.addTask {
                    for index in 0..<250 {
                        try? collector.record(FeedbackEvent(type: .like, itemID: "i\(index)", userID: "w\(worker)"))
                    }
                }
            }
        }
        let statistics = await collector.shutdown()
        #expect(statistics.delivered == 2000 && statistics.dropped == 0)
        #expect(try LocalLog(configuration: .init(path: path)).statistics().records == 2000)
    }
}
