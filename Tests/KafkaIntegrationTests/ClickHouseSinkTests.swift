import Feedback
import FeedbackBench
import FeedbackLog
import FeedbackProcessor
import FeedbackProcessorClickHouse
import FeedbackProcessorRedis
import Foundation
import TestSupport
import Testing

/// A real ClickHouse server (Debian's 18.16) on free 127.0.0.1 ports, its data in a temporary directory.
final class TestClickHouse: @unchecked Sendable {
    // @unchecked Sendable: immutable after init.
    let httpPort: Int
    private let process: SupervisedProcess
    var url: URL { URL(string: "http://127.0.0.1:\(httpPort)")! }

    init() throws {
        let server = "/usr/sbin/clickhouse-server"
        guard FileManager.default.isExecutableFile(atPath: server),
            var config = try? String(contentsOfFile: "/etc/clickhouse-server/config.xml", encoding: .utf8)
        else {
            throw TestEnvironment.Failure(
                description: "clickhouse-server is not installed: run scripts/install-deps.sh")
        }
        let directory = temporaryDirectory()
        httpPort = try SupervisedProcess.freePort()
        let replacements = [
            ("<http_port>8123</http_port>", "<http_port>\(httpPort)</http_port>"),
            ("<tcp_port>9000</tcp_port>", "<tcp_port>\(try SupervisedProcess.freePort())</tcp_port>"),
            (
                "<interserver_http_port>9009</interserver_http_port>",
                "<interserver_http_port>\(try SupervisedProcess.freePort())</interserver_http_port>"
            ),
            ("<listen_host>::1</listen_host>", ""),
            ("/var/lib/clickhouse/", directory + "/data/"),
            ("/var/log/clickhouse-server/", directory + "/log/"),
            ("<users_config>users.xml</users_config>", "<users_config>/etc/clickhouse-server/users.xml</users_config>"),
        ]
        for (old, new) in replacements { config = config.replacingOccurrences(of: old, with: new) }
        try config.write(toFile: directory + "/config.xml", atomically: true, encoding: .utf8)
        process = try SupervisedProcess(
            name: "clickhouse", executable: server, arguments: ["--config-file=\(directory)/config.xml"], port: httpPort
        )
    }

    deinit { process.kill() }
}

@Suite(.serialized) struct ClickHouseSinkTests {
    @Test func clickHouseTotalsEqualTheStoreEvenWithWindowsSentManyTimes() throws {
        let clickhouse = try TestClickHouse()
        let sink = try ClickHouseMetricsSink(url: clickhouse.url, instance: "one")
        let directory = temporaryDirectory()
        let log = try LocalLog(configuration: .init(path: directory + "/events.sqlite"))
        try log.append(ProcessorKafkaTests.stream().map { EncodedEvent(key: nil, payload: $0.jsonBytes()) })
        var configuration = ProcessorConfiguration(
            storePath: directory + "/processor.sqlite", samplesDirectory: directory + "/samples")
        configuration.batchSize = 97  // batches end mid-minute: windows are re-sent with growing counts
        let processor = try FeedbackProcessor(log: log, configuration: configuration, metricsSinks: [sink])
        let statistics = try processor.processAvailable()
        #expect(statistics.processed == ProcessorKafkaTests.stream().count)
        let stored = try processor.metrics(limit: 100_000)
        let published = try sink.totals(limit: 100_000)
        #expect(published.count == stored.count && stored.count > 50)
        for (a, b) in zip(published, stored) {
            #expect(
                a.minuteMs == b.minuteMs && a.scene == b.scene && a.source == b.source && a.impressions == b.impressions
                    && a.clicks == b.clicks && a.conversions == b.conversions && abs(a.revenue - b.revenue) < 1e-9,
                "\(a) vs \(b)")
        }
        // `feedback metrics --clickhouse` prints the same newest windows.
        let cli = try FeedbackBinary(
            ["metrics", "--clickhouse", clickhouse.url.absoluteString, "--last", "3"], directory: temporaryDirectory())
        let status = try cli.process.waitForExit(timeout: 30)
        #expect(status == 0, "\(cli.stderr)")
        let rows = cli.stdout.split(separator: "\n").dropFirst()
        #expect(rows.count == 3 && rows.first?.contains(" \(stored[0].impressions) ") == true, "\(cli.stdout)")
        // A second processor instance's rows add up instead of replacing the first one's.
        try sink.write([stored[0]], version: 1)
        let other = try ClickHouseMetricsSink(url: clickhouse.url, instance: "two")
        try other.write([stored[0]], version: 1)
        let doubled = try sink.totals(limit: 1)
        #expect(doubled.first?.impressions == 2 * stored[0].impressions)
    }
}

extension Process {
    /// Waits synchronously (tests that are not async) for the process to end; returns its status.
    func waitForExit(timeout: Double) throws -> Int32 {
        let deadline = Date().addingTimeInterval(timeout)
        while isRunning {
            if Date() > deadline {
                terminate()
                throw TestEnvironment.Failure(description: "process did not exit within \(timeout) s")
            }
            usleep(10_000)
        }
        usleep(50_000)  // let the output pipes drain
        return terminationStatus
    }
}
