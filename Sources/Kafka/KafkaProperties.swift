import Foundation

/// librdkafka properties from where secrets belong: a properties file only its owner can read, or the
/// environment — not the command line, where `ps` shows them to every user of the machine.
///
/// ```swift
/// var properties = try KafkaProperties.load(file: "/etc/feedback/kafka.properties")  // 0600
/// properties.merge(KafkaProperties.fromEnvironment()) { _, env in env }   // FEEDBACK_KAFKA_SASL_PASSWORD=…
/// let consumer = try KafkaConsumer(groupID: "g", topics: ["t"], properties: properties)
/// ```
public enum KafkaProperties {
    /// Environment variables with this prefix are properties: `FEEDBACK_KAFKA_SASL_PASSWORD` → `sasl.password`.
    public static let environmentPrefix = "FEEDBACK_KAFKA_"

    /// Whether a property's value is a secret (never printed: error messages show `<redacted>`).
    public static func isSecret(_ key: String) -> Bool {
        let key = key.lowercased()
        return key.contains("password") || key.contains("secret") || key.contains("token")
            || key.hasSuffix(".pem") || key == "sasl.oauthbearer.config" || key == "sasl.jaas.config"
    }

    /// `key=value` as it may be shown in a message or log.
    public static func shown(_ key: String, _ value: String) -> String {
        isSecret(key) ? "\(key)=<redacted>" : "\(key)=\(value)"
    }

    /// The properties given as `FEEDBACK_KAFKA_*` environment variables (lower-cased, `_` → `.`).
    public static func fromEnvironment(
        _ environment: [String: String] = ProcessInfo.processInfo.environment
    ) -> [String: String] {
        var properties: [String: String] = [:]
        for (name, value) in environment where name.hasPrefix(environmentPrefix) && name.count > environmentPrefix.count
        {
            properties[name.dropFirst(environmentPrefix.count).lowercased().replacingOccurrences(of: "_", with: ".")] =
                value
        }
        return properties
    }

    /// A properties file: `key=value` lines, `#` comments and blank lines ignored. Refused when it holds a
    /// secret and others than its owner may read it (make it `chmod 600`).
    public static func load(file path: String) throws(KafkaError) -> [String: String] {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw .configuration("cannot read the Kafka properties file \(path)")
        }
        var properties: [String: String] = [:]
        for (number, line) in String(decoding: data, as: UTF8.self).split(
            separator: "\n", omittingEmptySubsequences: false
        ).enumerated() {
            let text = line.trimmingCharacters(in: .whitespaces)
            if text.isEmpty || text.hasPrefix("#") { continue }
            guard let equals = text.firstIndex(of: "=") else {
                throw .configuration("\(path):\(number + 1): write key=value (a librdkafka property)")
            }
            let key = text[..<equals].trimmingCharacters(in: .whitespaces)
            properties[key] = text[text.index(after: equals)...].trimmingCharacters(in: .whitespaces)
        }
        if properties.keys.contains(where: isSecret) {
            let attributes = try? FileManager.default.attributesOfItem(atPath: path)
            let mode = (attributes?[.posixPermissions] as? NSNumber)?.intValue ?? 0o777
            guard mode & 0o077 == 0 else {
                throw .configuration(
                    "\(path) holds a secret and others may read it (mode \(String(mode, radix: 8))): chmod 600 \(path)")
            }
        }
        return properties
    }
}
