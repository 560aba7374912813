import DemoRecommender
import Feedback
import FeedbackKafka
import Foundation
import Kafka
import Pipeline
import Synchronization
import Testing

/// The collector against a real broker, read back by an independent consumer (kcat).
@Suite(.serialized) struct KafkaCollectorTests {
    func configuration(topic: String) throws -> KafkaConfiguration {
        var configuration = KafkaConfiguration(brokers: [try TestBroker.get().address], topic: topic)
        configuration.flushInterval = .milliseconds(5)
        return configuration
    }

    @Test func pipelineImpressionsClicksAndConversionsArriveExactlyOnce() async throws {
        let broker = try TestBroker.get()
        let topic = try broker.createTopic("demo")
        let collector = try FeedbackCollector.kafka(configuration(topic: topic))
        let catalog = DemoCatalog(itemCount: 300, seed: 5)
        let traffic = DemoTraffic(users: 10, requestsPerUser: 4, seed: 11)
        let hook = FeedbackHook(collector: collector)

        var expected: [String: Int] = [:]  // "type request item position" -> count
        var keys: [String: String] = [:]  // request id -> expected key
        for request in traffic.requests() {
            let items = try await catalog.pipeline(forUser: request.userIndex, pageSize: 8, hooks: [hook])
                .run(request.context)
            keys[request.context.requestID] =
                request.context.userID.isEmpty ? request.context.deviceID : request.context.userID
            for (position, item) in items.enumerated() {
                expected["impression \(request.context.requestID) \(item.id) \(position)", default: 0] += 1
            }
            for (item, action) in traffic.actions(for: request, shown: items) {
                switch action {
                case .click(let position):
                    try collector.recordClick(itemID: item.id, position: position, context: request.context)
                    expected["click \(request.context.requestID) \(item.id) \(position)", default: 0] += 1
                case .conversion(let position, let amount, let orderID):
                    try collector.recordConversion(
                        itemID: item.id, context: request.context, position: position,
                        extras: ["amount": .double(amount), "order_id": .string(orderID)])
                    expected["conversion \(request.context.requestID) \(item.id) \(position)", default: 0] += 1
                }
            }
        }
        let statistics = await collector.shutdown(timeout: .seconds(30))
        let total = expected.values.reduce(0, +)
        #expect(statistics.recorded == total && statistics.delivered == total, "\(statistics)")
        #expect(expected.values.contains { $0 > 1 } == false)

        let messages = try TopicReader.read(topic: topic, broker: broker.address)
        #expect(messages.count == total)
        var seen: [String: Int] = [:]
        var partitionOfKey: [String: Int] = [:]
        for message in messages {
            let json = message.json
            let type = json["type"] as? String ?? "?"
            let request = json["request_id"] as? String ?? "?"
            seen[
                "\(type) \(request) \(json["item_id"] as? String ?? "?") \(json["position"] as? Int ?? -1)", default: 0] +=
                1
            #expect(message.key == keys[request], "key of \(message.payload)")
            if let key = message.key {
                #expect(partitionOfKey[key, default: message.partition] == message.partition)
                partitionOfKey[key] = message.partition
            }
            #expect(json["schema_version"] as? Int == 2)
            if type == "conversion" {
                let extras = json["extras"] as? [String: Any]
                #expect(extras?["amount"] is Double && extras?["order_id"] is String)
            }
        }
        #expect(seen == expected)
        #expect(Set(messages.compactMap { $0.json["event_id"] as? String }).count == total)
        #expect(Set(partitionOfKey.values).count > 1, "keys should spread over partitions")
    }

    static let settings: [(compression: KafkaConfiguration.Compression, acks: Int, idempotent: Bool)] = [
        (.none, 1, false), (.gzip, 1, false), (.snappy, 1, false), (.lz4, 1, false), (.zstd, 1, false),
        (.none, 0, false), (.none, -1, false), (.zstd, -1, true), (.lz4, -1, true),
    ]

    @Test(arguments: 0..<settings.count)
    func exactJSONAndKeysForEveryCodecAndAcksSetting(index: Int) async throws {
        let setting = Self.settings[index]
        let broker = try TestBroker.get()
        let topic = try broker.createTopic("codec-\(setting.compression.rawValue)-acks\(setting.acks)")
        var configuration = try configuration(topic: topic)
        configuration.compression = setting.compression
        configuration.requiredAcks = setting.acks
        configuration.idempotent = setting.idempotent
        configuration.batchSize = 500
        let collector = try FeedbackCollector.kafka(configuration)
        let events = (0..<3000).map { index in
            FeedbackEvent(
                type: index % 7 == 0 ? .click : .impression, itemID: "item_\(index % 97)", userID: "user_\(index % 50)",
                deviceID: "device_\(index % 50)", scene: "feed", requestID: "req_\(index / 10)",
                eventID: "evt_\(index)",
                timestampMs: 1_704_067_200_000 + Int64(index), position: index % 10, score: Double(index) / 3,
                labels: ["recall_source": "hot|ann", "recall_type": "hot"], extras: ["note": "ünïcødé <&> \"q\""])
        }
        for event in events { try collector.record(event) }
        let statistics = await collector.shutdown(timeout: .seconds(30))
        #expect(statistics.delivered == events.count, "\(statistics)")

        let messages = try TopicReader.read(topic: topic, broker: broker.address, expecting: events.count)
        #expect(messages.count == events.count)
        let expected = Dictionary(
            uniqueKeysWithValues: events.map {
                ($0.eventID!, (String(decoding: $0.jsonBytes(), as: UTF8.self), $0.userID))
            })
        var seen = Set<String>()
        for message in messages {
            let id = try #require(message.json["event_id"] as? String)
            #expect(seen.insert(id).inserted, "duplicate \(id)")
            #expect(message.payload == expected[id]?.0)
            #expect(message.key == expected[id]?.1)
        }
        // Per key, order is kept within its partition.
        let order = messages.filter { $0.key == "user_3" }.map { $0.json["timestamp_ms"] as? Int ?? 0 }
        #expect(order == order.sorted())
    }

    /// The producer partitions keys itself (a cheaper CRC than librdkafka's): every key must land where
    /// librdkafka's own default partitioner puts it — here kcat's, producing the same keys.
    @Test func keysLandOnThePartitionsOfLibrdkafkasDefaultPartitioner() async throws {
        let broker = try TestBroker.get()
        let ours = try broker.createTopic("partitioner-ours", partitions: 7)
        let theirs = try broker.createTopic("partitioner-kcat", partitions: 7)
        let keys = (0..<300).map { index in
            index % 3 == 0 ? "user_\(index)" : index % 3 == 1 ? "device-\(index * 7919)" : "ü\(index)é<\(index)>"
        }
        let collector = try FeedbackCollector.kafka(configuration(topic: ours))
        for key in keys { try collector.record(FeedbackEvent(type: .click, itemID: "item", userID: key)) }
        let statistics = await collector.shutdown(timeout: .seconds(30))
        #expect(statistics.delivered == keys.count)

        let expected = try Self.partitionsOfKcat(keys, topic: theirs, broker: broker)
        #expect(expected.count == keys.count && Set(expected.values).count == 7)
        #expect(try Self.partitions(of: ours, broker: broker) == expected)
    }

    /// The partition of each key in `topic` (its first message's).
    static func partitions(of topic: String, broker: TestBroker) throws -> [String: Int] {
        Dictionary(
            try TopicReader.read(topic: topic, broker: broker.address).map { ($0.key ?? "", $0.partition) },
            uniquingKeysWith: { first, _ in first })
    }

    /// Where kcat's librdkafka, with its default partitioner, puts each of `keys` in `topic`.
    static func partitionsOfKcat(_ keys: [String], topic: String, broker: TestBroker) throws -> [String: Int] {
        let input = FileManager.default.temporaryDirectory.appendingPathComponent("kcat-keys-\(UUID()).txt")
        try keys.map { "\($0)\t{}" }.joined(separator: "\n").appending("\n").write(
            to: input, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: input) }
        let kcat = ["/usr/bin/kcat", "/usr/local/bin/kcat"].first { FileManager.default.isExecutableFile(atPath: $0) }!
        try TestEnvironment.run(kcat, ["-P", "-b", broker.address, "-t", topic, "-K", "\t", "-l", input.path])
        return try partitions(of: topic, broker: broker)
    }

    /// The producer routes a batch itself once librdkafka has told it the partition count (the first batch goes
    /// through librdkafka's partitioner): a second batch must land exactly where kcat's librdkafka puts each key.
    @Test func batchesRoutedByTheProducerLandOnTheDefaultPartitionersPartitions() throws {
        let broker = try TestBroker.get()
        let ours = try broker.createTopic("routed-ours", partitions: 7)
        let theirs = try broker.createTopic("routed-kcat", partitions: 7)
        let keys = (0..<400).map { index in index % 2 == 0 ? "user_\(index)" : "ü\(index)-\(index * 7919)" }
        let reports = Mutex<[DeliveryReport]>([])
        let producer = try KafkaProducer(
            topic: ours, properties: ["bootstrap.servers": broker.address, "linger.ms": "5"],
            onDeliveries: { batch in reports.withLock { $0 += batch } })
        defer { producer.close() }
        func produce(_ range: Range<Int>) {
            var full: [Int] = []
            let payload = Array("{}".utf8)
            payload.withUnsafeBytes { value in
                let keyBytes = keys.map { Array($0.utf8) }
                keyBytes.withUnsafeBufferPointer { all in
                    _ = producer.produce(
                        count: range.count,
                        message: { offset in
                            all[range.lowerBound + offset].withUnsafeBytes { key in
                                OutgoingMessage(key: key, value: value, token: UInt(range.lowerBound + offset))
                            }
                        }, refused: { index, error in Issue.record("refused \(index): \(error)") },
                        full: { full.append($0) })
                }
            }
            #expect(full.isEmpty)
            #expect(producer.flush(timeout: .seconds(30)))
        }
        produce(0..<1)  // librdkafka's partitioner: the count is learnt
        produce(1..<keys.count)  // routed here, grouped by partition

        let expected = try Self.partitionsOfKcat(keys, topic: theirs, broker: broker)
        #expect(expected.count == keys.count && Set(expected.values).count == 7)

        let delivered = reports.withLock { $0 }
        #expect(delivered.count == keys.count && delivered.allSatisfy { $0.error == nil })
        for report in delivered where expected[keys[Int(report.token)]] != Int(report.partition) {
            Issue.record("key \(keys[Int(report.token)]) on partition \(report.partition)")
        }
    }

    /// A queue too small for a batch fills up midway through a batch grouped by partition: the events it took are
    /// not a prefix of the batch. Every event must still arrive once, and each key's events in the order recorded.
    @Test func aFullQueueMidwayThroughARoutedBatchLosesAndRepeatsNothing() async throws {
        let broker = try TestBroker.get()
        let topic = try broker.createTopic("routed-full", partitions: 5)
        var configuration = try configuration(topic: topic)
        configuration.properties["queue.buffering.max.messages"] = "60"
        let collector = try FeedbackCollector.kafka(configuration)
        let count = 6_000
        for index in 0..<count {
            try collector.record(
                FeedbackEvent(type: .click, itemID: "item", userID: "user_\(index % 37)", eventID: "e\(index)"))
        }
        let statistics = await collector.shutdown(timeout: .seconds(60))
        #expect(statistics.delivered == count && statistics.dropped == 0, "\(statistics)")

        let messages = try TopicReader.read(topic: topic, broker: broker.address)
            .sorted { ($0.partition, $0.offset) < ($1.partition, $1.offset) }
        let ids = messages.map { Int(($0.json["event_id"] as? String ?? "").dropFirst()) ?? -1 }
        #expect(ids.count == count && Set(ids) == Set(0..<count))
        var last: [String: Int] = [:]
        for (message, id) in zip(messages, ids) {
            let key = message.key ?? ""
            if let previous = last[key], previous > id { Issue.record("\(key): e\(id) after e\(previous)") }
            last[key] = id
        }
    }

    @Test func anonymousEventsWithoutADeviceHaveNoKey() async throws {
        let broker = try TestBroker.get()
        let topic = try broker.createTopic("nokey")
        let collector = try FeedbackCollector.kafka(configuration(topic: topic))
        try collector.record(FeedbackEvent(type: .skip, itemID: "i1", eventID: "a"))
        try collector.record(FeedbackEvent(type: .dislike, itemID: "i2", deviceID: "d9", eventID: "b"))
        #expect(await collector.shutdown().delivered == 2)
        let messages = try TopicReader.read(topic: topic, broker: broker.address).sorted { $0.payload < $1.payload }
        #expect(messages.map(\.key) == [nil, "d9"])
    }

    @Test func anUnreachableBrokerFailsEveryEventCountedWithItsReason() async throws {
        var configuration = KafkaConfiguration(brokers: ["127.0.0.1:1"], topic: "nowhere")
        configuration.deliveryTimeout = .seconds(1)
        configuration.flushInterval = .milliseconds(5)
        let collector = try FeedbackCollector.kafka(configuration)
        for index in 0..<20 { try collector.record(FeedbackEvent(type: .click, itemID: "i\(index)", userID: "u")) }
        let statistics = await collector.shutdown(timeout: .seconds(10))
        #expect(statistics.recorded == 20 && statistics.delivered == 0 && statistics.pending == 0)
        #expect(statistics.failedByReason == ["_MSG_TIMED_OUT": 20], "\(statistics.failedByReason)")
    }

    @Test func shutdownBeforeTheBrokerAnswersCountsThePurgedEvents() async throws {
        var configuration = KafkaConfiguration(brokers: ["127.0.0.1:1"], topic: "nowhere")
        configuration.deliveryTimeout = .seconds(60)
        let collector = try FeedbackCollector.kafka(configuration)
        for index in 0..<20 { try collector.record(FeedbackEvent(type: .click, itemID: "i\(index)", userID: "u")) }
        let started = ContinuousClock.now
        let statistics = await collector.shutdown(timeout: .milliseconds(500))
        #expect(ContinuousClock.now - started < .seconds(5))
        #expect(statistics.recorded == 20 && statistics.failed == 20 && statistics.pending == 0, "\(statistics)")
        #expect(statistics.failedByReason.keys.allSatisfy { $0.hasPrefix("_PURGE") })
    }
    /// The consumer reads what the collector wrote: payload, topic and key (the user id), or no key at all
    /// when asked not to copy keys (the processor's reads).
    @Test func theConsumerReadsKeysOrLeavesThemOut() async throws {
        let broker = try TestBroker.get()
        let topic = try broker.createTopic("consumer-keys")
        let collector = try FeedbackCollector.kafka(configuration(topic: topic))
        for index in 0..<12 {
            try collector.record(FeedbackEvent(type: .click, itemID: "i\(index)", userID: "u\(index % 3)"))
        }
        #expect(await collector.shutdown().delivered == 12)
        for keys in [true, false] {
            let consumer = try KafkaConsumer(
                groupID: "keys-\(keys)-\(UUID().uuidString.prefix(6))", topics: [topic],
                properties: [
                    "bootstrap.servers": broker.address, "session.timeout.ms": "6000", "heartbeat.interval.ms": "1000",
                ])
            defer { consumer.close() }
            var messages: [KafkaConsumer.Message] = []
            let deadline = ContinuousClock.now + .seconds(30)
            while messages.count < 12, ContinuousClock.now < deadline {
                messages += consumer.poll(max: 100, timeout: .milliseconds(200), keys: keys)
            }
            #expect(messages.count == 12 && messages.allSatisfy { $0.topic == topic })
            for message in messages {
                let json = try #require(JSONSerialization.jsonObject(with: Data(message.payload)) as? [String: Any])
                let key = message.key.map { String(decoding: $0, as: UTF8.self) }
                #expect(key == (keys ? json["user_id"] as? String : nil))
            }
        }
    }
}
