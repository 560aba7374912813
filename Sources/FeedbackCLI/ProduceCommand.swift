import ArgumentParser
import Feedback
import Foundation
import Pipeline

struct ProduceCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "produce",
        abstract: "Send N deterministic seed-format events through the collector (a Kafka smoke test).",
        discussion: """
            Ends by printing one JSON line: {"recorded":N,"delivered":D,"failed":F,"dropped":X}.
            Exits 1 unless every event was delivered.
            """)

    @OptionGroup var kafka: KafkaOptions

    @Option(help: "Number of events.")
    var count: Int = 1000

    @Option(help: "Events per second (0: as fast as the collector takes them).")
    var rate: Double = 0

    @Option(help: "Distinct users in the synthetic events.")
    var users: Int = 10_000

    func validate() throws {
        if count < 0 { throw ValidationError("--count is \(count): use 0 or more") }
        if rate < 0 { throw ValidationError("--rate is \(rate): use 0 (unlimited) or a positive rate") }
        if users < 1 { throw ValidationError("--users is \(users): use 1 or more") }
    }

    func run() async throws {
        kafka.bootstrapLogging()
        let collector = try kafka.makeCollector()
        let start = ContinuousClock.now
        let generator = SyntheticEvents(users: users)
        let capacity = kafka.capacity
        for index in 0..<count {
            if rate > 0 {
                let due = start + .seconds(Double(index) / rate)
                if due > ContinuousClock.now { try await Task.sleep(until: due, clock: .continuous) }
            } else if index % 256 == 0 {
                // A load generator should measure throughput, not overflow its own buffer: wait for room.
                while collector.bufferedEvents > capacity / 2 { try await Task.sleep(for: .microseconds(200)) }
            }
            try? collector.record(generator.event(index))
        }
        let statistics = await collector.shutdown(timeout: .seconds(kafka.shutdownTimeout))
        let seconds = (ContinuousClock.now - start).inSeconds
        FileHandle.standardError.write(
            Data(
                "produce: \(count) events in \(String(format: "%.2f", seconds)) s, \(Int(Double(statistics.delivered) / max(seconds, 1e-9))) delivered/s\n"
                    .utf8))
        print(
            #"{"recorded":\#(statistics.recorded),"delivered":\#(statistics.delivered),"failed":\#(statistics.failed),"dropped":\#(statistics.dropped)}"#
        )
        if statistics.delivered != count { throw ExitCode(1) }
    }
}

/// Deterministic seed-format events: the same index gives the same event in every run.
struct SyntheticEvents {
    static let types: [FeedbackEventType] = [
        .impression, .impression, .impression, .impression, .impression, .impression, .click, .click, .conversion,
        .skip,
    ]
    static let scenes = ["feed", "detail", "search"]
    static let sources = ["hot", "ann", "personal", "fresh"]
    let users: Int

    func event(_ index: Int) -> FeedbackEvent {
        let type = Self.types[index % Self.types.count]
        let source = Self.sources[index % Self.sources.count]
        return FeedbackEvent(
            type: type,
            itemID: "item_\((index &* 7919) % 100_000)",
            userID: "user_\(index % users)",
            deviceID: "device_\(index % users)",
            scene: Self.scenes[index % Self.scenes.count],
            requestID: "req_\(index / 10)",
            eventID: "evt_\(index)",
            timestampMs: 1_704_067_200_000 + Int64(index),
            position: index % 10,
            score: Double(index % 1000) / 1000,
            labels: ["recall_source": source, "recall_type": source],
            extras: type == .conversion ? ["amount": .double(99.0), "order_id": .string("order_\(index)")] : [:])
    }
}

extension Duration {
    var inSeconds: Double {
        let (seconds, attoseconds) = components
        return Double(seconds) + Double(attoseconds) / 1e18
    }
}
