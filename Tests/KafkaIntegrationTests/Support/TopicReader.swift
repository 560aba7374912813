import Foundation

/// Reads a topic back with kcat — a consumer independent of our code — from the beginning to its end.
enum TopicReader {
    struct Message: Hashable {
        var partition: Int
        var offset: Int
        var key: String?
        var payload: String

        var json: [String: Any] {
            (try? JSONSerialization.jsonObject(with: Data(payload.utf8)) as? [String: Any]) ?? [:]
        }
    }

    /// What a timed-out read had got, per partition: messages and highest offset (a broker whose high
    /// watermark counts messages it lost in a crash keeps `-e` waiting forever).
    static func describe(_ output: Data) -> String {
        var partitions: [Int: (count: Int, highest: Int)] = [:]
        for line in output.split(separator: UInt8(ascii: "\n")) {
            guard let envelope = try? JSONSerialization.jsonObject(with: Data(line)) as? [String: Any],
                let partition = envelope["partition"] as? Int, let offset = envelope["offset"] as? Int
            else { continue }
            let current = partitions[partition] ?? (0, -1)
            partitions[partition] = (current.count + 1, max(current.highest, offset))
        }
        let summary = partitions.sorted { $0.key < $1.key }.map {
            "p\($0.key): \($0.value.count) up to \($0.value.highest)"
        }
        return "\(output.count) bytes (\(summary.joined(separator: ", ")))"
    }

    /// `read(topic:broker:)` again until it has at least `count` messages or `within` has passed: with
    /// `acks=0` the producer counts a message delivered once sent, and the broker may still be storing the
    /// last requests when the collector's shutdown returns.
    static func read(topic: String, broker: String, expecting count: Int, within: Duration = .seconds(10)) throws
        -> [Message]
    {
        let deadline = ContinuousClock.now + within
        var messages = try read(topic: topic, broker: broker)
        while messages.count < count, ContinuousClock.now < deadline {
            Thread.sleep(forTimeInterval: 0.2)
            messages = try read(topic: topic, broker: broker)
        }
        return messages
    }

    static func read(topic: String, broker: String) throws -> [Message] {
        let kcat = ["/usr/bin/kcat", "/usr/local/bin/kcat"].first { FileManager.default.isExecutableFile(atPath: $0) }
        guard let kcat else {
            throw TestEnvironment.Failure(description: "kcat is not installed: run scripts/install-deps.sh")
        }
        let output = try TestEnvironment.run(
            kcat,
            ["-C", "-b", broker, "-t", topic, "-o", "beginning", "-e", "-q", "-J", "-X", "api.version.request=true"],
            timeout: .seconds(120),
            describePartialOutput: describe)
        return try output.split(separator: UInt8(ascii: "\n")).map { line in
            guard let envelope = try JSONSerialization.jsonObject(with: Data(line)) as? [String: Any],
                let payload = envelope["payload"] as? String,
                let partition = envelope["partition"] as? Int,
                let offset = envelope["offset"] as? Int
            else {
                throw TestEnvironment.Failure(
                    description: "unexpected kcat line: \(String(decoding: line, as: UTF8.self))")
            }
            return Message(partition: partition, offset: offset, key: envelope["key"] as? String, payload: payload)
        }
    }
}
