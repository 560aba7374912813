import ArgumentParser
import DemoRecommender
import Feedback
import FeedbackLog
import Pipeline

struct DemoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Run the demo recommender with simulated users; record impressions, clicks and conversions.",
        discussion: "Without --brokers, events go to the embedded local log: no external service is needed.")

    @OptionGroup var transport: TransportOptions

    @Option(help: "Simulated users.")
    var users: Int = 20

    @Option(help: "Requests per user.")
    var requestsPerUser: Int = 5

    @Option(help: "Items per response.")
    var pageSize: Int = 10

    @Option(help: "Seed of the simulation (same seed, same traffic).")
    var seed: UInt64 = 7

    func validate() throws {
        try OptionCheck.integer(users, "--users", atLeast: 1, "users")
        try OptionCheck.integer(requestsPerUser, "--requests-per-user", atLeast: 0, "requests")
        try OptionCheck.integer(pageSize, "--page-size", atLeast: 1, "items")
    }

    func run() async throws {
        let registry = transport.bootstrap()
        let (collector, spool) = try transport.makeCollector()
        let summary = try await DemoRun(
            catalog: DemoCatalog(itemCount: 500, seed: 42),
            traffic: DemoTraffic(users: users, requestsPerUser: requestsPerUser, seed: seed),
            pageSize: pageSize
        ).run(collector: collector)
        if let spool { _ = await spool.waitForSpoolDrained(timeout: .seconds(transport.shutdownTimeout)) }
        let statistics = await collector.shutdown(timeout: .seconds(transport.shutdownTimeout))
        try transport.writeMetrics(registry)
        print(
            """
            demo: \(summary.requests) requests, \(summary.impressions) impressions, \(summary.clicks) clicks, \
            \(summary.conversions) conversions (revenue \(summary.revenue))
            collector: recorded \(statistics.recorded), delivered \(statistics.delivered), \
            spooled \(statistics.spooled), replayed \(statistics.replayed), failed \(statistics.failed), \
            dropped \(statistics.dropped) -> \(transport.destination)
            """)
        if !transport.usesKafka {
            let log = try LocalLog(configuration: .init(path: transport.log))
            let held = try log.statistics()
            print("local log: \(held.records) events held (offsets \(held.firstOffset)...\(held.lastOffset))")
        }
        if statistics.delivered + statistics.replayed < statistics.recorded { throw ExitCode(1) }
    }
}
