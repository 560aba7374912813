import ArgumentParser
import Kafka

/// librdkafka properties beyond the named options (TLS, SASL, tuning), for producers and consumers alike:
/// from a properties file (`0600` when it holds a secret), `FEEDBACK_KAFKA_*` environment variables
/// (`FEEDBACK_KAFKA_SASL_PASSWORD` → `sasl.password`), then `-X key=value`, each overriding the one
/// before. Secrets belong in the first two: the command line is visible to every user in `ps`.
struct KafkaPropertyOptions: ParsableArguments {
    @Option(
        name: .customShort("X"),
        help: "Any librdkafka property, as key=value (repeatable). Secrets: use --kafka-config or FEEDBACK_KAFKA_*.")
    var properties: [String] = []

    @Option(help: "A librdkafka properties file (key=value lines); must be chmod 600 when it holds a secret.")
    var kafkaConfig: String?

    func validate() throws { _ = try resolved() }

    /// The file's properties, then the environment's, then `-X`'s.
    func resolved() throws -> [String: String] {
        var resolved: [String: String] = [:]
        if let kafkaConfig {
            do {
                resolved = try KafkaProperties.load(file: kafkaConfig)
            } catch {
                throw ValidationError("--kafka-config: \(error.message)")
            }
        }
        resolved.merge(KafkaProperties.fromEnvironment()) { _, given in given }
        for property in properties {
            guard let equals = property.firstIndex(of: "="), equals != property.startIndex else {
                throw ValidationError(
                    "-X \(property.prefix(while: { $0 != "=" })): write librdkafka properties as key=value")
            }
            resolved[String(property[..<equals])] = String(property[property.index(after: equals)...])
        }
        return resolved
    }
}
