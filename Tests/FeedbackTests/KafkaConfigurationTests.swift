import Feedback
import FeedbackKafka
import Testing

@Suite struct KafkaConfigurationTests {
    let base = KafkaConfiguration(brokers: ["127.0.0.1:9092"], topic: "feedback")

    @Test func theSeedsDefaultsMapOntoLibrdkafka() throws {
        let properties = try base.librdkafkaProperties()
        #expect(
            properties == [
                "bootstrap.servers": "127.0.0.1:9092", "batch.num.messages": "100", "linger.ms": "1000",
                "client.id": "reckit-feedback-collector", "acks": "1", "compression.codec": "none",
                "enable.idempotence": "false", "message.send.max.retries": "3",
                "queue.buffering.max.kbytes": "65536", "message.timeout.ms": "300000",
                "reconnect.backoff.max.ms": "1000",
            ])
    }

    @Test func everyKnobIsPassedThroughAndZeroRetriesIsAllowed() throws {
        var configuration = base
        configuration.brokers = [" a:1", "b:2 ", ""]
        configuration.requiredAcks = -1
        configuration.idempotent = true
        configuration.maxRetries = 0
        configuration.compression = try .init(name: "ZSTD")
        configuration.properties = ["security.protocol": "plaintext"]
        let properties = try configuration.librdkafkaProperties()
        #expect(properties["bootstrap.servers"] == "a:1,b:2")
        #expect(properties["acks"] == "-1" && properties["enable.idempotence"] == "true")
        #expect(properties["message.send.max.retries"] == "0" && properties["compression.codec"] == "zstd")
        #expect(properties["security.protocol"] == "plaintext")
        #expect(try KafkaConfiguration.Compression(name: "") == .none)
    }

    static let mistakes: [(String, @Sendable (inout KafkaConfiguration) -> Void)] = [
        ("brokers is empty", { $0.brokers = [] }),
        ("brokers is empty", { $0.brokers = [" "] }),
        ("topic is empty", { $0.topic = "" }),
        ("batchSize is 0", { $0.batchSize = 0 }),
        ("flushInterval is", { $0.flushInterval = .seconds(-1) }),
        ("requiredAcks is 2: use 0 (none), 1 (leader) or -1", { $0.requiredAcks = 2 }),
        ("idempotent needs requiredAcks = -1", { $0.idempotent = true }),
        ("maxRetries is -1", { $0.maxRetries = -1 }),
        ("maxQueueBytes is 10", { $0.maxQueueBytes = 10 }),
        ("deliveryTimeout is", { $0.deliveryTimeout = .zero }),
        ("clientID is empty", { $0.clientID = "" }),
        ("must be longer than flushInterval", { $0.deliveryTimeout = .seconds(1) }),
        ("property 'acks' is set by the field 'requiredAcks'", { $0.properties["acks"] = "all" }),
        ("property 'linger.ms' is set by the field 'flushInterval'", { $0.properties["linger.ms"] = "5" }),
    ]

    @Test(arguments: 0..<mistakes.count)
    func mistakesAreRefusedWithWhatToChange(index: Int) {
        let (expected, mutate) = Self.mistakes[index]
        var configuration = base
        mutate(&configuration)
        do {
            _ = try configuration.librdkafkaProperties()
            Issue.record("accepted a bad configuration: \(expected)")
        } catch {
            #expect(error.description.contains(expected), "\(error.description)")
        }
    }

    @Test func anUnknownCodecNamesTheKnownOnes() {
        #expect(
            throws: FeedbackError.invalidConfiguration(
                "compression 'brotli' is unknown: use one of none, gzip, snappy, lz4, zstd")
        ) {
            try KafkaConfiguration.Compression(name: "brotli")
        }
    }

    @Test func librdkafkaRefusesUnknownPropertiesWithItsReason() {
        var configuration = base
        configuration.properties["no.such.property"] = "1"
        do {
            _ = try KafkaTransport(configuration: configuration)
            Issue.record("accepted an unknown librdkafka property")
        } catch {
            #expect(error.description.contains("no.such.property"), "\(error.description)")
            #expect(error.description.contains("No such configuration property"), "\(error.description)")
        }
    }
}
