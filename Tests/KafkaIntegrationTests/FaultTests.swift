import Feedback
import FeedbackLog
import Foundation
import TestSupport
import Testing

/// Faults against real processes: the broker SIGKILLed and restarted, the broker absent for 30 s, the
/// collector SIGKILLed in durable mode, SIGTERM. Each drives the `feedback` binary as a child process and
/// reads the topic back with kcat. Duplicates are allowed (at-least-once) and reported; loss is not.
@Suite(.serialized) struct FaultTests {
    let directory = temporaryDirectory()

    func produce(_ broker: TestBroker, topic: String, _ extra: [String]) throws -> FeedbackBinary {
        try FeedbackBinary(
            ["produce", "--brokers", broker.address, "--topic", topic, "--spool", directory + "/spool.sqlite"] + extra,
            directory: directory)
    }

    /// Counts the distinct event ids in the topic and reports duplicates.
    func distinctEvents(_ topic: String, _ broker: TestBroker, test: String) throws -> Set<String> {
        let start = ContinuousClock.now
        let ids = try TopicReader.read(topic: topic, broker: broker.address).compactMap {
            $0.json["event_id"] as? String
        }
        let distinct = Set(ids)
        print(
            """
            \(test): \(ids.count) messages, \(distinct.count) distinct events, \(ids.count - distinct.count) \
            duplicates (read back in \(ContinuousClock.now - start))
            """)
        return distinct
    }

    func waitFor(_ child: FeedbackBinary, recorded target: Int, timeout: Duration = .seconds(60)) async throws {
        let deadline = ContinuousClock.now + timeout
        while child.recordedProgress < target {
            guard child.process.isRunning, ContinuousClock.now < deadline else {
                throw TestEnvironment.Failure(
                    description: "produce stopped before \(target) events: \(child.stderr.suffix(1500))")
            }
            try await Task.sleep(for: .milliseconds(10))
        }
    }

    @Test func brokerSIGKILLedMidStreamAndRestartedLosesNoEvent() async throws {
        let store = try ObjectStore()
        let broker = try TestBroker(storage: .s3(store))
        let topic = try broker.createTopic("killed")
        let count = 200_000
        let child = try produce(
            broker, topic: topic,
            [
                "--count", "\(count)", "--rate", "40000", "--batch-size", "10000", "--flush-interval-ms", "20",
                "--acks=-1", "--progress-every", "10000", "--shutdown-timeout", "120", "--delivery-timeout", "20",
            ])
        try await waitFor(child, recorded: 60_000)
        broker.kill()
        try await Task.sleep(for: .seconds(3))
        try broker.start()
        let status = try await child.wait(timeout: .seconds(240))
        let report = child.report
        print("broker SIGKILL: report \(report), peak RSS \(child.peakRSSMiB) MiB")
        if report["dropped", default: 1] != 0 {
            print(
                child.stderr.split(separator: "\n").filter { $0.contains("dropped") || $0.contains("error") }.prefix(20)
                    .joined(separator: "\n"))
        }
        #expect(status == 0, "\(child.stderr.suffix(2000))")
        #expect(report["recorded"] == count && report["dropped"] == 0 && report["failed"] == 0)
        #expect(try distinctEvents(topic, broker, test: "broker SIGKILL").count == count)
    }

    @Test func brokerDownForThirtySecondsAtStartThenUpDeliversEverythingWithinTheMemoryCap() async throws {
        let broker = try TestBroker(startNow: false)
        let count = 150_000
        let child = try produce(
            broker, topic: "late-broker",
            [
                "--count", "\(count)", "--rate", "5000", "--capacity", "20000", "--max-queue-mb", "16",
                "--flush-interval-ms", "5", "--batch-size", "1000", "--shutdown-timeout", "120",
                "--progress-every", "5000",
            ])
        try await Task.sleep(for: .seconds(30))
        let recordedWhileDown = child.recordedProgress
        try broker.start()
        let status = try await child.wait(timeout: .seconds(180))
        let report = child.report
        let peak = child.peakRSSMiB
        print(
            "broker down 30 s: recorded while down \(recordedWhileDown), report \(report), peak RSS \(peak) MiB (cap 100)"
        )
        #expect(recordedWhileDown >= 140_000)
        #expect(status == 0, "\(child.stderr.suffix(2000))")
        #expect(report["recorded"] == count && report["dropped"] == 0 && report["failed"] == 0)
        #expect(report["spooled", default: 0] > 100_000)
        #expect(peak > 0 && peak < 100, "peak RSS \(peak) MiB over the 100 MiB budget")
        #expect(try distinctEvents("late-broker", broker, test: "broker down 30 s").count == count)
    }

    @Test func collectorSIGKILLedInDurableModeLosesNothingThatRecordAccepted() async throws {
        let broker = try TestBroker()
        let topic = try broker.createTopic("durable-kill")
        let child = try produce(
            broker, topic: topic,
            [
                "--durable", "--count", "200000", "--rate", "20000", "--progress-every", "1000", "--flush-interval-ms",
                "5",
            ])
        try await waitFor(child, recorded: 30_000)
        child.signal(SIGKILL)
        _ = try await child.wait(timeout: .seconds(10))
        let accepted = child.recordedProgress
        // The next start replays the spool.
        let replay = try FeedbackBinary(
            [
                "spool", "replay", "--brokers", broker.address, "--topic", topic, "--spool",
                directory + "/spool.sqlite",
                "--flush-interval-ms", "5",
            ], directory: directory)
        #expect(try await replay.wait(timeout: .seconds(60)) == 0, "\(replay.stderr.suffix(2000))")
        let delivered = try distinctEvents(topic, broker, test: "collector SIGKILL (durable)")
        let missing = (0..<accepted).filter { !delivered.contains("evt_\($0)") }
        print("collector SIGKILL (durable): record returned for \(accepted) events, missing \(missing.count)")
        #expect(accepted >= 30_000 && missing.isEmpty, "first missing: \(missing.prefix(5))")
    }

    @Test func sigtermSpoolsWhatItCannotDeliverAndTheNextStartReplaysIt() async throws {
        let broker = try TestBroker(startNow: false)
        let child = try produce(
            broker, topic: "sigterm",
            ["--count", "1000000", "--rate", "20000", "--progress-every", "1000", "--shutdown-timeout", "3"])
        try await waitFor(child, recorded: 20_000)
        let started = ContinuousClock.now
        child.signal(SIGTERM)
        _ = try await child.wait(timeout: .seconds(30))
        let report = child.report
        print("SIGTERM: exited in \(ContinuousClock.now - started), report \(report)")
        #expect(ContinuousClock.now - started < .seconds(10))
        let recorded = try #require(report["recorded"])
        #expect(recorded >= 20_000 && recorded < 1_000_000)
        #expect(report["spooled", default: 0] + report["delivered", default: 0] == recorded && report["dropped"] == 0)
        try broker.start()
        let replay = try FeedbackBinary(
            [
                "spool", "replay", "--brokers", broker.address, "--topic", "sigterm", "--spool",
                directory + "/spool.sqlite", "--flush-interval-ms", "5",
            ], directory: directory)
        #expect(try await replay.wait(timeout: .seconds(60)) == 0, "\(replay.stderr.suffix(2000))")
        #expect(try distinctEvents("sigterm", broker, test: "SIGTERM").count == recorded)
    }
}
