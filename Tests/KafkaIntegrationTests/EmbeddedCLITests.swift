import FeedbackLog
import FeedbackProcessor
import Foundation
import TestSupport
import Testing

/// The `feedback` tool on the embedded default: no broker, events in the local log.
@Suite struct EmbeddedCLITests {
    @Test func durableEmbeddedWritesSurviveSIGKILLUncorrupted() async throws {
        let directory = temporaryDirectory()
        let child = try FeedbackBinary(
            ["produce", "--durable", "--count", "1000000", "--progress-every", "500"], directory: directory)
        let deadline = ContinuousClock.now + .seconds(60)
        while child.recordedProgress < 5_000 {
            guard child.process.isRunning, ContinuousClock.now < deadline else {
                throw TestEnvironment.Failure(description: "produce stopped early: \(child.stderr.suffix(1000))")
            }
            try await Task.sleep(for: .milliseconds(5))
        }
        child.signal(SIGKILL)
        _ = try await child.wait(timeout: .seconds(10))
        let accepted = child.recordedProgress
        let log = try LocalLog(configuration: .init(path: directory + "/feedback-data/events.sqlite"))
        #expect(try log.integrityCheck() == "ok")
        let records = try log.read(after: 0, limit: 2_000_000)
        let ids = Set(
            records.compactMap {
                (try? JSONSerialization.jsonObject(with: Data($0.payload)) as? [String: Any])?["event_id"] as? String
            })
        let missing = (0..<accepted).filter { !ids.contains("evt_\($0)") }
        print("embedded SIGKILL: record returned for \(accepted), log holds \(records.count), missing \(missing.count)")
        #expect(missing.isEmpty)
        #expect(zip(records, records.dropFirst()).allSatisfy { $0.offset + 1 == $1.offset }, "offsets are contiguous")
    }

    /// The processor SIGKILLed mid-stream and restarted ends with exactly the outputs of a clean run.
    @Test func processorSIGKILLedMidStreamEndsWithTheOutputsOfACleanRun() async throws {
        let clean = temporaryDirectory()
        let crashed = temporaryDirectory()
        #expect(
            try await FeedbackBinary(["produce", "--count", "40000", "--users", "300"], directory: clean).wait() == 0)
        try FileManager.default.createDirectory(atPath: crashed + "/feedback-data", withIntermediateDirectories: true)
        for file in try FileManager.default.contentsOfDirectory(atPath: clean + "/feedback-data") {
            try FileManager.default.copyItem(
                atPath: clean + "/feedback-data/" + file, toPath: crashed + "/feedback-data/" + file)
        }
        let process = ["process", "--window-seconds", "5", "--batch-size", "2000"]  // batches to kill between
        #expect(try await FeedbackBinary(process, directory: clean).wait() == 0)

        let victim = try FeedbackBinary(process, directory: crashed)
        // Kill it once some batches are committed but before it is done, wherever it then is.
        let killedMidStream = victim.stop(when: {
            (5_000..<40_000).contains(ProcessorOutputs.applied(crashed))
        })
        victim.signal(SIGKILL)
        _ = try await victim.wait(timeout: .seconds(10))
        let rerun = try FeedbackBinary(process, directory: crashed)
        #expect(try await rerun.wait() == 0)
        print("processor SIGKILL: killed mid-stream \(killedMidStream); rerun \(rerun.stdout)")
        #expect(killedMidStream)

        let cleanOutputs = try await ProcessorOutputs.read(clean)
        let crashedOutputs = try await ProcessorOutputs.read(crashed)
        #expect(cleanOutputs.samples.count == 21_000)  // 60 % impressions of 40,000, less the last 5 s still open
        #expect(cleanOutputs.profile.contains("user_7"))
        #expect(cleanOutputs == crashedOutputs)
    }

    /// `process --follow` runs the processor as a Service: it takes events recorded while it runs, and a
    /// SIGTERM stops it after the batch in hand, with the same totals as a plain run over the same log.
    @Test func processFollowTakesNewEventsAndStopsOnSIGTERM() async throws {
        let directory = temporaryDirectory()
        #expect(try await FeedbackBinary(["produce", "--count", "3000"], directory: directory).wait() == 0)
        let follower = try FeedbackBinary(["process", "--follow"], directory: directory)
        try await Task.sleep(for: .seconds(2))
        #expect(
            try await FeedbackBinary(["produce", "--count", "2000", "--first", "3000"], directory: directory).wait()
                == 0)
        try await Task.sleep(for: .seconds(2))
        follower.signal(SIGTERM)
        #expect(try await follower.wait(timeout: .seconds(20)) == 0, "\(follower.stderr.suffix(2000))")
        let line = try #require(follower.stdout.split(separator: "\n").last)
        let statistics = try JSONDecoder().decode(ProcessorStatistics.self, from: Data(line.utf8))
        #expect(statistics.processed == 5000 && statistics.offset == 5000, "\(line)")
    }

    @Test func metricsAreWrittenInPrometheusTextFormat() async throws {
        let directory = temporaryDirectory()
        let child = try FeedbackBinary(
            ["produce", "--count", "300", "--metrics-file", directory + "/metrics.prom"], directory: directory)
        #expect(try await child.wait(timeout: .seconds(60)) == 0)
        #expect(
            child.report == ["recorded": 300, "delivered": 300, "failed": 0, "dropped": 0, "spooled": 0, "replayed": 0])
        let text = try String(contentsOfFile: directory + "/metrics.prom", encoding: .utf8)
        for line in [
            "feedback_events_recorded_total 300", "feedback_events_delivered_total 300",
            "feedback_events_spooled_total 0", "# TYPE feedback_buffered_events gauge",
            "# TYPE feedback_delivery_latency_seconds histogram",
        ] {
            #expect(text.contains(line), "missing \(line)")
        }
    }

    /// Records that are not feedback events are dropped by the processor: counted in its metrics and logged
    /// with where they sit, never silently.
    @Test func theProcessorCountsAndLogsRecordsThatAreNotEvents() async throws {
        let directory = temporaryDirectory()
        #expect(try await FeedbackBinary(["produce", "--count", "300"], directory: directory).wait() == 0)
        let log = try LocalLog(configuration: .init(path: directory + "/feedback-data/events.sqlite"))
        try log.append([
            LogEntry(key: nil, payload: Array("not json at all".utf8)),
            LogEntry(key: nil, payload: Array(#"{"type":"click"}"#.utf8)),
        ])
        let process = try FeedbackBinary(
            ["process", "--metrics-file", directory + "/metrics.prom"], directory: directory)
        #expect(try await process.wait() == 0)
        #expect(process.stdout.contains(#""failed":2"#) && process.stdout.contains(#""processed":300"#))
        #expect(process.stderr.contains("not a feedback event") && process.stderr.contains("offset=301"))
        let text = try String(contentsOfFile: directory + "/metrics.prom", encoding: .utf8)
        for line in [
            #"feedback_processor_events_total{outcome="failed"} 2"#,
            #"feedback_processor_events_total{outcome="processed"} 300"#,
            #"feedback_processor_events_total{outcome="duplicate"} 0"#,
        ] {
            #expect(text.contains(line), "missing \(line) in \(text)")
        }
    }

    @Test func spoolStatsReportsTheLogAsJSON() async throws {
        let directory = temporaryDirectory()
        #expect(
            try await FeedbackBinary(["demo", "--users", "3", "--requests-per-user", "2"], directory: directory).wait()
                == 0)
        let stats = try FeedbackBinary(
            ["spool", "stats", "--spool", "feedback-data/events.sqlite"], directory: directory)
        #expect(try await stats.wait() == 0)
        let object = try #require(
            try JSONSerialization.jsonObject(with: Data(stats.stdout.utf8)) as? [String: Int])
        #expect(object["records", default: 0] >= 60 && object["first_offset"] == 1)
    }

    /// `metrics --json` and `profile --json` print what the table and the text show, as JSON.
    @Test func metricsAndProfilePrintJSON() async throws {
        let directory = temporaryDirectory()
        #expect(
            try await FeedbackBinary(["produce", "--count", "300", "--users", "30"], directory: directory).wait() == 0)
        #expect(try await FeedbackBinary(["process"], directory: directory).wait() == 0)

        let metrics = try FeedbackBinary(["metrics", "--json", "--last", "100"], directory: directory)
        #expect(try await metrics.wait() == 0, "\(metrics.stderr)")
        let windows = try #require(
            try JSONSerialization.jsonObject(with: Data(metrics.stdout.utf8)) as? [[String: Any]], "\(metrics.stdout)")
        #expect(!windows.isEmpty)
        let keys: Set = [
            "minuteMs", "scene", "source", "impressions", "clicks", "conversions", "revenue", "ctr", "cvr",
        ]
        #expect(windows.allSatisfy { Set($0.keys) == keys }, "\(windows)")
        // 6 of every 10 seed-format events are impressions, all in one minute.
        #expect(windows.compactMap { $0["impressions"] as? Int }.reduce(0, +) == 180)
        #expect(Set(windows.compactMap { $0["minuteMs"] as? Int }) == [1_704_067_200_000])
        let table = try FeedbackBinary(["metrics", "--last", "100"], directory: directory)
        #expect(try await table.wait() == 0)
        #expect(table.stdout.split(separator: "\n").count == windows.count + 1, "a header and one line a window")

        let profile = try FeedbackBinary(["profile", "user_7", "--json"], directory: directory)
        #expect(try await profile.wait() == 0, "\(profile.stderr)")
        let object = try #require(
            try JSONSerialization.jsonObject(with: Data(profile.stdout.utf8)) as? [String: Any], "\(profile.stdout)")
        #expect(object["user"] as? String == "user_7")
        #expect((object["counts"] as? [String: Int])?["click"] == 10)  // events 7, 37, ..., 297: all clicks
        let text = try FeedbackBinary(["profile", "user_7"], directory: directory)
        #expect(try await text.wait() == 0)
        #expect(text.stdout.hasPrefix("user user_7 (last seen ") && text.stdout.contains("counts: click 10"))
    }

    /// The readers take only their own options, and numbers out of range are usage errors (exit 64), not traps.
    @Test func optionsACommandDoesNotUseOrCannotTakeAreUsageErrors() async throws {
        let directory = temporaryDirectory()
        for (arguments, message) in [
            (["metrics", "--batch-size", "5"], "Unknown option '--batch-size'"),
            (["profile", "user_1", "--brokers", "127.0.0.1:9092"], "Unknown option '--brokers'"),
            (["process", "--idle-seconds", "nan"], "--idle-seconds nan"),
            (["process", "--window-seconds=-1"], "--window-seconds -1"),
            (["produce", "--rate", "inf"], "--rate inf"),
            (["produce", "--delivery-timeout", "nan"], "--delivery-timeout nan"),
            (["produce", "--spool-max-mb", "\(Int.max)"], "--spool-max-mb \(Int.max)"),
        ] {
            let child = try FeedbackBinary(arguments, directory: directory)
            #expect(try await child.wait(timeout: .seconds(30)) == 64, "\(arguments): \(child.stderr)")
            #expect(child.stderr.contains(message), "\(arguments): \(child.stderr)")
        }
    }
}
