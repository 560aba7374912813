import ArgumentParser
import DemoRecommender
import Feedback
import Pipeline

struct DemoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Run the demo recommender with simulated users; record impressions, clicks and conversions.")

    @OptionGroup var kafka: KafkaOptions

    @Option(help: "Simulated users.")
    var users: Int = 20

    @Option(help: "Requests per user.")
    var requestsPerUser: Int = 5

    @Option(help: "Items per response.")
    var pageSize: Int = 10

    @Option(help: "Seed of the simulation (same seed, same traffic).")
    var seed: UInt64 = 7

    func run() async throws {
        kafka.bootstrapLogging()
        let collector = try kafka.makeCollector()
        let summary = try await DemoRun(
            catalog: DemoCatalog(itemCount: 500, seed: 42),
            traffic: DemoTraffic(users: users, requestsPerUser: requestsPerUser, seed: seed),
            pageSize: pageSize
        ).run(collector: collector)
        let statistics = await collector.shutdown(timeout: .seconds(kafka.shutdownTimeout))
        print(
            """
            demo: \(summary.requests) requests, \(summary.impressions) impressions, \(summary.clicks) clicks, \
            \(summary.conversions) conversions (revenue \(summary.revenue))
            collector: recorded \(statistics.recorded), delivered \(statistics.delivered), \
            failed \(statistics.failed), dropped \(statistics.dropped) -> topic '\(kafka.topic)' at \(kafka.brokers)
            """)
        if statistics.delivered != statistics.recorded { throw ExitCode(1) }
    }
}
