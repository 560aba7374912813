import ArgumentParser
import Feedback
import FeedbackLog
import FeedbackProcessor
import FeedbackWire
import Foundation
import Kafka

/// `feedback failed`: the records the processor refused, with their reasons, and a way to feed corrected ones back.
struct FailedCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "failed", abstract: "List the input records the processor refused, or feed corrected ones back.",
        subcommands: [List.self, Redrive.self], defaultSubcommand: List.self)

    /// One failed record as `list --json` prints it and `redrive` reads it back (with `record` corrected).
    typealias Line = FailedRecord.Line

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "list",
            abstract: "Print the failed records: partition, offset, reason and the start of each record.",
            discussion: """
                Reads the processor's store only. With --json, one JSON object per line: \
                {"source","partition","offset","kind","reason","size","whole","record"} — fix "record" and give the \
                lines to `feedback failed redrive`.
                """)

        @OptionGroup var store: StoreOptions

        @Option(help: "How many records at most.")
        var limit: Int = 100

        @Flag(help: "One JSON object per line instead of text.")
        var json = false

        func validate() throws { try OptionCheck.integer(limit, "--limit", atLeast: 1, "records") }

        func run() throws {
            let processor = try store.openForReading()
            let records = try processor.failedRecords(limit: limit)
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            for failed in records {
                let text = String(decoding: failed.payload, as: UTF8.self)
                if json {
                    print(String(decoding: try encoder.encode(failed.line), as: UTF8.self))
                } else {
                    print("\(failed.partition):\(failed.offset)  \(failed.reason)\n    \(text.prefix(160))")
                }
            }
            if !json { print("\(try processor.failedCount()) failed record(s) in \(store.path)") }
        }
    }

    struct Redrive: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "redrive",
            abstract: "Feed corrected failed records back (local log or Kafka) and forget them in the store.",
            discussion: """
                Reads lines as `feedback failed list --json` prints them (or as the dead-letter topic holds them), \
                each with its "record" corrected. A record that is now a feedback event is appended to the local \
                log — or, with --brokers, produced to the topic — keyed by its user, else device, and the next \
                `feedback process` applies it; the failed record is forgotten in the store (if there is one). One that is still \
                not an event is reported with its reason and kept. Prints {"redriven":N,"refused":M}; exits 1 \
                if any was refused.
                """)

        @OptionGroup var store: StoreOptions

        @Option(help: "The corrected lines (JSON, one per line); - for standard input.")
        var input: String

        @Option(help: "The embedded local log the processor reads.")
        var log: String = "feedback-data/events.sqlite"

        @Option(help: "Kafka bootstrap servers: produce the corrected records to --topic instead of the local log.")
        var brokers: String = ""

        @Option(help: "Kafka topic the processor reads.")
        var topic: String = "feedback-topic"

        @OptionGroup var librdkafka: KafkaPropertyOptions

        func run() throws {
            let data =
                input == "-"
                ? FileHandle.standardInput.readDataToEndOfFile() : try Data(contentsOf: URL(fileURLWithPath: input))
            var entries: [LogEntry] = []
            var places: [(partition: Int32, offset: Int64)] = []
            var refused = 0
            for (number, text) in String(decoding: data, as: UTF8.self).split(separator: "\n").enumerated()
            where !text.allSatisfy(\.isWhitespace) {
                guard let line = try? JSONDecoder().decode(Line.self, from: Data(text.utf8)) else {
                    FileHandle.standardError.write(
                        Data("line \(number + 1): not a line of `feedback failed list --json`\n".utf8))
                    refused += 1
                    continue
                }
                let bytes = Array(line.record.utf8)
                do {
                    let event = try EventReader.decode(bytes)
                    let key = event.profileKey.isEmpty ? nil : Array(event.profileKey.utf8)
                    entries.append(LogEntry(key: key, payload: bytes))
                    places.append((line.partition, line.offset))
                } catch {
                    FileHandle.standardError.write(
                        Data("\(line.partition):\(line.offset): still refused: \(error)\n".utf8))
                    refused += 1
                }
            }
            if !entries.isEmpty {
                // Sent first: a crash between the two leaves the failed record listed, never the event lost.
                if brokers.isEmpty {
                    _ = try LocalLog(configuration: .init(path: log)).append(entries)
                } else {
                    var properties = try librdkafka.resolved()
                    properties["bootstrap.servers"] = brokers
                    let producer = try AcknowledgedProducer(topic: topic, properties: properties)
                    defer { producer.close() }
                    try producer.send(entries.map { ($0.key, $0.payload) }, timeout: .seconds(60))
                }
                if FileManager.default.fileExists(atPath: store.path) {
                    try store.openForReading().forgetFailed(places)
                }
            }
            print(#"{"redriven":\#(entries.count),"refused":\#(refused)}"#)
            if refused > 0 { throw ExitCode(1) }
        }
    }
}
