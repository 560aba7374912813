import Feedback
import FeedbackKafka
import FeedbackLog
import Foundation
import Pipeline
import ServiceLifecycle
import TestSupport
import Testing

func events(_ range: Range<Int>, prefix: String = "evt") -> [FeedbackEvent] {
    range.map { index in
        FeedbackEvent(
            type: .click, itemID: "item_\(index % 50)", userID: "user_\(index % 40)", scene: "feed",
            requestID: "req_\(index / 10)", eventID: "\(prefix)_\(index)",
            timestampMs: 1_704_067_200_000 + Int64(index),
            position: index % 10)
    }
}

/// The outage spool against a real broker: events that cannot be delivered wait on disk and are replayed.
@Suite(.serialized) struct SpoolTests {
    func kafka(_ broker: TestBroker, topic: String, deliveryTimeout: Duration = .seconds(30)) -> KafkaConfiguration {
        var configuration = KafkaConfiguration(brokers: [broker.address], topic: topic)
        configuration.flushInterval = .milliseconds(5)
        configuration.deliveryTimeout = deliveryTimeout
        return configuration
    }

    func eventIDs(topic: String, broker: TestBroker) throws -> [String] {
        try TopicReader.read(topic: topic, broker: broker.address).compactMap { $0.json["event_id"] as? String }
    }

    @Test func eventsRecordedWhileTheBrokerIsDownAreSpooledThenReplayedWhenItComesBack() async throws {
        let broker = try TestBroker(startNow: false)
        let spool = SpoolConfiguration(path: temporaryDirectory() + "/spool.sqlite")
        let transport = try SpoolingTransport(
            wrapping: KafkaTransport(configuration: kafka(broker, topic: "outage")), spool: spool)
        let collector = try FeedbackCollector(transport: transport)
        for event in events(0..<3000) {
            try collector.record(event)
            if event.eventID == "evt_1500" { try await Task.sleep(for: .milliseconds(500)) }
        }
        _ = await collector.flush(timeout: .seconds(2))
        #expect(transport.destinationDown)
        try broker.start()
        #expect(await transport.waitForSpoolDrained(timeout: .seconds(30)))
        let statistics = await collector.shutdown()
        #expect(statistics.delivered + statistics.spooled == 3000 && statistics.dropped == 0 && statistics.failed == 0)
        #expect(statistics.spooled > 0 && statistics.replayed == statistics.spooled, "\(statistics)")
        let ids = try eventIDs(topic: "outage", broker: broker)
        #expect(Set(ids).count == 3000, "\(ids.count) messages")
    }

    @Test func failedAndPurgedDeliveriesAreSpooledAndTheNextStartReplaysThem() async throws {
        let broker = try TestBroker(startNow: false)
        let spoolPath = temporaryDirectory() + "/spool.sqlite"
        do {
            // librdkafka holds the first events until they time out (1 s), the rest until shutdown purges them.
            let collector = try FeedbackCollector.kafka(
                kafka(broker, topic: "later", deliveryTimeout: .seconds(1)), spool: SpoolConfiguration(path: spoolPath))
            for event in events(0..<500) { try collector.record(event) }
            let statistics = await collector.shutdown(timeout: .milliseconds(300))
            #expect(statistics.spooled == 500 && statistics.failed == 0 && statistics.pending == 0, "\(statistics)")
        }
        #expect(try LocalLog(configuration: .init(path: spoolPath)).statistics().records == 500)
        try broker.start()
        let transport = try SpoolingTransport(
            wrapping: KafkaTransport(configuration: kafka(broker, topic: "later")),
            spool: SpoolConfiguration(path: spoolPath))
        let restarted = try FeedbackCollector(transport: transport)
        #expect(await transport.waitForSpoolDrained(timeout: .seconds(30)))
        #expect(await restarted.shutdown().replayed == 500)
        #expect(Set(try eventIDs(topic: "later", broker: broker)) == Set((0..<500).map { "evt_\($0)" }))
    }

    @Test func durableModeShipsEveryEventThroughTheSpoolUnchanged() async throws {
        let broker = try TestBroker.get()
        let topic = try broker.createTopic("durable")
        let transport = try SpoolingTransport(
            wrapping: KafkaTransport(configuration: kafka(broker, topic: topic)),
            spool: SpoolConfiguration(path: temporaryDirectory() + "/s.sqlite"))
        let collector = try FeedbackCollector(transport: transport, configuration: .init(durability: .durable))
        let sent = events(0..<2000)
        for event in sent { try collector.record(event) }
        #expect(await transport.waitForSpoolDrained(timeout: .seconds(30)))
        let statistics = await collector.shutdown()
        #expect(statistics.spooled == 2000 && statistics.replayed == 2000, "\(statistics)")
        let messages = try TopicReader.read(topic: topic, broker: broker.address)
        #expect(Set(messages.map(\.payload)) == Set(sent.map { String(decoding: $0.jsonBytes(), as: UTF8.self) }))
        #expect(messages.allSatisfy { $0.key?.hasPrefix("user_") == true })
    }

    @Test func aFullSpoolCountsItsDropsAndTheCollectorStaysHealthy() async throws {
        let broker = try TestBroker(startNow: false)
        let collector = try FeedbackCollector.kafka(
            kafka(broker, topic: "full"),
            spool: SpoolConfiguration(path: temporaryDirectory() + "/s.sqlite", maxBytes: 50_000))
        for event in events(0..<2000) { try? collector.record(event) }
        _ = await collector.flush(timeout: .seconds(2))
        try collector.record(events(2000..<2001)[0])  // still accepting
        let statistics = await collector.shutdown(timeout: .milliseconds(300))
        #expect(statistics.droppedByReason[.logFull, default: 0] > 1000, "\(statistics)")
        #expect(statistics.spooled > 0 && statistics.spooled * 300 < 60_000)
        #expect(statistics.pending == 0 && statistics.recorded == 2001)
    }

    @Test func aGracefulShutdownOfTheServiceGroupDeliversWhatWasRecorded() async throws {
        let broker = try TestBroker.get()
        let topic = try broker.createTopic("service")
        let collector = try FeedbackCollector.kafka(kafka(broker, topic: topic))
        let group = ServiceGroup(services: [collector], logger: .init(label: "test"))
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            for event in events(0..<1000) { try collector.record(event) }
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
        }
        #expect(collector.statistics.delivered == 1000)
        #expect(throws: FeedbackError.closed) { try collector.record(events(0..<1)[0]) }
        #expect(try eventIDs(topic: topic, broker: broker).count == 1000)
    }
}
