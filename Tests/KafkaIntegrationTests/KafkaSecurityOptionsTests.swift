import Foundation
import Kafka
import TestSupport
import Testing

/// librdkafka properties from a file or the environment, secrets never shown; a broker that is not there
/// is said to be missing, and `feedback process` gives up.
@Suite struct KafkaSecurityOptionsTests {
    @Test func environmentVariablesBecomeProperties() {
        let properties = KafkaProperties.fromEnvironment([
            "FEEDBACK_KAFKA_SASL_PASSWORD": "hunter2", "FEEDBACK_KAFKA_SECURITY_PROTOCOL": "sasl_ssl",
            "FEEDBACK_KAFKA_": "ignored", "HOME": "/root",
        ])
        #expect(properties == ["sasl.password": "hunter2", "security.protocol": "sasl_ssl"])
    }

    @Test func secretsAreRedactedAndAFileOthersCanReadIsRefused() throws {
        #expect(KafkaProperties.shown("sasl.password", "hunter2") == "sasl.password=<redacted>")
        #expect(KafkaProperties.shown("ssl.key.password", "x") == "ssl.key.password=<redacted>")
        #expect(KafkaProperties.shown("security.protocol", "ssl") == "security.protocol=ssl")
        let path = temporaryPath("kafka") + ".properties"
        try "# SASL\nsecurity.protocol = sasl_plaintext\nsasl.password=hunter2\n".write(
            toFile: path, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: path)
        #expect(throws: KafkaError.self) { try KafkaProperties.load(file: path) }
        do {
            _ = try KafkaProperties.load(file: path)
        } catch {
            #expect(error.message.contains("chmod 600") && !error.message.contains("hunter2"), "\(error)")
        }
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: path)
        #expect(
            try KafkaProperties.load(file: path) == ["security.protocol": "sasl_plaintext", "sasl.password": "hunter2"])
    }

    @Test func aRefusedSecretPropertyIsNotEchoed() {
        do {
            _ = try KafkaConsumer(
                groupID: "g", topics: ["t"],
                properties: ["bootstrap.servers": "127.0.0.1:1", "sasl.oauthbearer.config": "hunter2", "no.such": "x"])
            Issue.record("a consumer with an unknown property was created")
        } catch {
            #expect(!"\(error)".contains("hunter2"))
        }
        do {
            _ = try KafkaConsumer(
                groupID: "g", topics: ["t"],
                properties: ["bootstrap.servers": "127.0.0.1:1", "sasl.mechanism": "hunter2"]
            )
        } catch {
            #expect("\(error)".contains("sasl.mechanism"), "\(error)")
        }
    }

    /// `feedback process` against a port where no broker listens: a clear error naming the brokers and the
    /// reason, exit status 1, within the connect timeout (not an endless stream of librdkafka lines).
    @Test func processGivesUpOnABrokerThatIsNotThere() async throws {
        let directory = temporaryDirectory()
        let start = ContinuousClock.now
        let child = try FeedbackBinary(
            ["process", "--brokers", "127.0.0.1:1", "--connect-timeout-seconds", "2"], directory: directory)
        let status = try await child.wait(timeout: .seconds(60))
        #expect(status == 1)
        #expect(ContinuousClock.now - start < .seconds(30))
        #expect(child.stderr.contains("no partition of feedback-topic assigned"), "\(child.stderr.suffix(800))")
        #expect(child.stderr.contains("Connection refused") || child.stderr.contains("brokers are down"))
        #expect(child.stderr.contains("is a broker running at 127.0.0.1:1?"))
        // librdkafka retries every fraction of a second; the log says so at most every 10 s per kind.
        #expect(child.stderr.split(separator: "\n").count < 12, "\(child.stderr)")
    }

    @Test func secretsOnTheCommandLineAreNotEchoedInErrors() async throws {
        let directory = temporaryDirectory()
        let child = try FeedbackBinary(
            ["process", "--brokers", "127.0.0.1:1", "-X", "sasl.password=hunter2", "-X", "no.such=1"],
            directory: directory)
        #expect(try await child.wait(timeout: .seconds(60)) != 0)
        #expect(child.stderr.contains("no.such") && !child.stderr.contains("hunter2"), "\(child.stderr)")
    }
}
