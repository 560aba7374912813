import ArgumentParser
import Feedback
import FeedbackKafka
import FeedbackLog
import Foundation
import Pipeline
import ServiceLifecycle
import SyntheticFeedback

struct ProduceCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "produce",
        abstract: "Send N deterministic seed-format events through the collector (a Kafka smoke test).",
        discussion: """
            Ends by printing one JSON line:
            {"recorded":N,"delivered":D,"failed":F,"dropped":X,"spooled":S,"replayed":R}.
            Exits 1 unless every event was delivered (directly or by replay). SIGTERM or SIGINT stops
            recording, delivers what it can within --shutdown-timeout and spools the rest.
            """)

    @OptionGroup var transport: TransportOptions

    @Option(help: "Number of events.")
    var count: Int = 1000

    @Option(help: "Events per second (0: as fast as the collector takes them). Lags rather than overflow the buffer.")
    var rate: Double = 0

    @Option(help: "Distinct users in the synthetic events.")
    var users: Int = 10_000

    @Option(help: "Index of the first event (event ids are evt_<index>).")
    var first: Int = 0

    @Option(help: "Print 'recorded <n>' to stderr every n accepted events (0: never).")
    var progressEvery: Int = 0

    /// Event indexes stay below this (their timestamps and the pacing's seconds far from any overflow).
    static let indexLimit = 1_000_000_000_000_000

    func validate() throws {
        try OptionCheck.integer(count, "--count", in: 0...1_000_000_000_000, "events")
        // At most a million years of pacing: Double(count) / rate seconds must fit a Duration.
        if rate != 0 { try OptionCheck.number(rate, "--rate", in: 0.001...1e9, "events per second (or 0)") }
        try OptionCheck.integer(users, "--users", atLeast: 1, "users")
        try OptionCheck.integer(first, "--first", in: 0...(Self.indexLimit - count), "(with --count \(count))")
        try OptionCheck.integer(progressEvery, "--progress-every", atLeast: 0, "events")
    }

    func run() async throws {
        let registry = transport.bootstrap()
        let (collector, spool) = try transport.makeCollector()
        let start = ContinuousClock.now
        let recorder = Recorder(
            collector: collector, spool: spool, count: count, first: first, rate: rate, users: users,
            capacity: transport.capacity, progressEvery: progressEvery,
            drainTimeout: .milliseconds(Int(transport.shutdownTimeout * 1000)))
        // The collector runs as a Service: SIGTERM/SIGINT end the recording and start a graceful shutdown.
        let group = ServiceGroup(
            configuration: .init(
                // Shut down in reverse order: first the recorder stops recording, then the collector delivers.
                services: [
                    .init(service: collector),
                    .init(service: recorder, successTerminationBehavior: .gracefullyShutdownGroup),
                ],
                gracefulShutdownSignals: [.sigterm, .sigint], logger: transport.logger))
        try await group.run()
        let statistics = await collector.shutdown(timeout: .seconds(transport.shutdownTimeout))
        let seconds = (ContinuousClock.now - start).inSeconds
        try transport.writeMetrics(registry)
        FileHandle.standardError.write(
            Data(
                "produce: \(statistics.recorded) events in \(String(format: "%.2f", seconds)) s, \(Int(Double(statistics.delivered + statistics.replayed) / max(seconds, 1e-9))) delivered/s\n"
                    .utf8))
        print(
            #"{"recorded":\#(statistics.recorded),"delivered":\#(statistics.delivered),"failed":\#(statistics.failed),"dropped":\#(statistics.dropped),"spooled":\#(statistics.spooled),"replayed":\#(statistics.replayed)}"#
        )
        if statistics.delivered + statistics.replayed < count { throw ExitCode(1) }
    }
}

/// Records the synthetic events, paced, as a Service so that a shutdown signal stops it between events;
/// then, unless interrupted, waits for the spool to be replayed. When it returns, the group shuts the
/// collector down.
final class Recorder: Service, @unchecked Sendable {
    // @unchecked Sendable: all fields are immutable.
    let collector: FeedbackCollector
    let spool: SpoolingTransport?
    let count, first, users, capacity, progressEvery: Int
    let rate: Double
    let drainTimeout: Duration

    init(
        collector: FeedbackCollector, spool: SpoolingTransport?, count: Int, first: Int, rate: Double, users: Int,
        capacity: Int, progressEvery: Int, drainTimeout: Duration
    ) {
        self.collector = collector
        self.spool = spool
        self.drainTimeout = drainTimeout
        self.count = count
        self.first = first
        self.rate = rate
        self.users = users
        self.capacity = capacity
        self.progressEvery = progressEvery
    }

    func run() async throws {
        let start = ContinuousClock.now
        for index in 0..<count {
            if index % 256 == 0, Task.isShuttingDownGracefully || Task.isCancelled { return }
            if rate > 0 {
                let due = start + .seconds(Double(index) / rate)
                if due > ContinuousClock.now { try? await Task.sleep(until: due, clock: .continuous) }
            }
            if index % 256 == 0 {
                // A load generator should measure the collector, not overflow its own buffer: when the sender
                // falls behind (a starved CPU, a full librdkafka queue) it waits for room, lagging the rate.
                while collector.bufferedEvents > capacity / 2, !Task.isShuttingDownGracefully {
                    try? await Task.sleep(for: .microseconds(200))
                }
            }
            try? collector.record(SyntheticEvents.event(first + index, users: users))
            if progressEvery > 0, (index + 1) % progressEvery == 0 {
                FileHandle.standardError.write(Data("recorded \(first + index + 1)\n".utf8))
            }
        }
        // Everything recorded is delivered or spooled: let the replayer ship the spool before shutdown.
        if let spool {
            _ = await collector.flush(timeout: drainTimeout)
            _ = await spool.waitForSpoolDrained(timeout: drainTimeout)
        }
    }
}

extension Duration {
    var inSeconds: Double {
        let (seconds, attoseconds) = components
        return Double(seconds) + Double(attoseconds) / 1e18
    }
}
