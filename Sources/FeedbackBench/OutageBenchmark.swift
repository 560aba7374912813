import Foundation

/// The broker down for N seconds under a steady load: peak RSS of a `feedback produce` child against its
/// configured memory budget, then how fast the spool is replayed once the broker is back.
public struct OutageBenchmark: Sendable {
    public let secondsDown: Double
    public let rate: Double
    public let capacity = 20_000
    public let maxQueueMiB = 16
    /// Runtime baseline + librdkafka's queue + the collector's buffer at ~1 KiB an event.
    public var capMiB: Double { 64 + Double(maxQueueMiB) + Double(capacity) / 1024 }

    public init(secondsDown: Double, rate: Double) {
        self.secondsDown = secondsDown
        self.rate = rate
    }

    public func run(feedback: String, broker: LocalBroker, directory: String) async throws -> (
        BenchReport.Outage, BenchReport.Replay
    ) {
        let count = Int(rate * secondsDown)
        let child = Process()
        child.executableURL = URL(fileURLWithPath: feedback)
        child.arguments = [
            "produce", "--brokers", broker.address, "--topic", "outage", "--count", "\(count)", "--rate", "\(rate)",
            "--capacity", "\(capacity)", "--max-queue-mb", "\(maxQueueMiB)", "--flush-interval-ms", "5",
            "--batch-size", "10000", "--spool", directory + "/spool.sqlite", "--shutdown-timeout", "300",
            "--log-level", "critical",
        ]
        child.currentDirectoryURL = URL(fileURLWithPath: directory)
        let output = Pipe()
        child.standardOutput = output
        child.standardError = FileHandle.nullDevice
        try child.run()
        let start = ContinuousClock.now
        var peakKiB = 0
        while ContinuousClock.now - start < .seconds(secondsDown) {
            peakKiB = max(peakKiB, Self.rssKiB(child.processIdentifier))
            try await Task.sleep(for: .milliseconds(50))
        }
        let spooledBefore = try Self.spoolRecords(feedback: feedback, directory: directory)
        try broker.start()
        let replayStart = ContinuousClock.now
        let report = output.fileHandleForReading.readDataToEndOfFile()
        child.waitUntilExit()
        let replaySeconds = (ContinuousClock.now - replayStart).seconds
        let json =
            (try? JSONSerialization.jsonObject(with: report.split(separator: UInt8(ascii: "\n")).last ?? Data()))
            as? [String: Int] ?? [:]
        guard child.terminationStatus == 0, json["dropped"] == 0 else {
            throw ProcessFailure(description: "outage: produce ended with \(child.terminationStatus): \(json)")
        }
        let replayed = json["replayed", default: 0]
        return (
            .init(
                peakRssMib: Double(peakKiB) / 1024, capMib: capMiB, secondsDown: secondsDown,
                eventsPerSecond: rate, spooled: spooledBefore),
            .init(eventsPerSecond: Double(max(replayed, spooledBefore)) / replaySeconds, events: replayed)
        )
    }

    static func rssKiB(_ pid: Int32) -> Int {
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return 0 }
        for line in status.split(separator: "\n") where line.hasPrefix("VmHWM:") {
            return Int(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "0") ?? 0
        }
        return 0
    }

    static func spoolRecords(feedback: String, directory: String) throws -> Int {
        let text = try Shell.run(feedback, ["spool", "stats", "--spool", directory + "/spool.sqlite"])
        let object = try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Int]
        return object?["records"] ?? 0
    }
}
