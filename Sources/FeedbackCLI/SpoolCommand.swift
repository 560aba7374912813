import ArgumentParser
import Feedback
import FeedbackKafka
import FeedbackLog
import Foundation

struct SpoolCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "spool", abstract: "Inspect or ship the outage spool.",
        subcommands: [Stats.self, Replay.self])

    struct Stats: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print the spool's size as one JSON line.")

        @Option(help: "The spool (or local log) file.")
        var spool: String = "feedback-data/spool.sqlite"

        func run() throws {
            guard FileManager.default.fileExists(atPath: spool) else {
                throw ValidationError("no spool at \(spool): pass --spool PATH")
            }
            let statistics = try LocalLog(configuration: .init(path: spool)).statistics()
            print(
                #"{"records":\#(statistics.records),"bytes":\#(statistics.bytes),"first_offset":\#(statistics.firstOffset),"last_offset":\#(statistics.lastOffset),"evicted":\#(statistics.evicted)}"#
            )
        }
    }

    struct Replay: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Send everything in the spool to Kafka and exit; prints {\"replayed\":N,\"left\":M}.")

        @OptionGroup var kafka: KafkaOptions

        @Option(help: "The spool to ship.")
        var spool: String = "feedback-data/spool.sqlite"

        @Option(help: "Seconds to wait for the spool to drain.")
        var timeout: Double = 120

        @Option(help: "Seconds shutdown may take to deliver what is in flight (the rest stays in the spool).")
        var shutdownTimeout: Double = 30

        @OptionGroup var observability: ObservabilityOptions

        func validate() throws {
            guard kafka.usesKafka else { throw ValidationError("--brokers is required to replay the spool") }
            try OptionCheck.number(timeout, "--timeout", in: 0...86_400, "seconds")
            try OptionCheck.number(shutdownTimeout, "--shutdown-timeout", in: 0...86_400, "seconds")
        }

        func run() async throws {
            let registry = observability.bootstrap()
            // Nothing new is recorded: the collector only carries the transport, whose replayer ships the spool.
            let transport = try SpoolingTransport(
                wrapping: KafkaTransport(configuration: kafka.kafkaConfiguration(), logger: observability.logger),
                spool: SpoolConfiguration(path: spool), logger: observability.logger)
            let collector = try FeedbackCollector(
                transport: transport,
                configuration: .init(
                    logger: observability.logger, shutdownTimeout: .milliseconds(Int(shutdownTimeout * 1000))))
            let drained = await transport.waitForSpoolDrained(timeout: .seconds(timeout))
            let statistics = await collector.shutdown(timeout: .seconds(shutdownTimeout))
            try observability.writeMetrics(registry)
            let left = try LocalLog(configuration: .init(path: spool)).statistics().records
            print(#"{"replayed":\#(statistics.replayed),"left":\#(left)}"#)
            if !drained || left > 0 { throw ExitCode(1) }
        }
    }
}
