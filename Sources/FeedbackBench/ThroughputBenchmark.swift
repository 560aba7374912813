import Feedback
import FeedbackKafka
import Foundation
import SyntheticFeedback

/// Acknowledged events per second for N seed-format events, ours beside kcat with the same settings.
public struct ThroughputBenchmark: Sendable {
    public struct Setting: Sendable {
        public var name: String
        public var compression: KafkaConfiguration.Compression
        public var idempotent: Bool

        public static let all: [Setting] = [
            .init(name: "none", compression: .none, idempotent: false),
            .init(name: "lz4", compression: .lz4, idempotent: false),
            .init(name: "zstd", compression: .zstd, idempotent: false),
            .init(name: "idempotent_zstd", compression: .zstd, idempotent: true),
        ]
    }

    public let events: Int
    public let batchSize: Int
    public let lingerMs: Int

    public init(events: Int, batchSize: Int = 10_000, lingerMs: Int = 5) {
        self.events = events
        self.batchSize = batchSize
        self.lingerMs = lingerMs
    }

    /// The producer settings both sides use.
    func properties(_ setting: Setting) -> [String: String] {
        [
            "linger.ms": String(lingerMs), "batch.num.messages": String(batchSize),
            "compression.codec": setting.compression.rawValue, "acks": setting.idempotent ? "-1" : "1",
            "enable.idempotence": setting.idempotent ? "true" : "false",
        ]
    }

    /// A run's rate (events/s), its CPU time per event (µs, user + system of every thread) and the
    /// broker's CPU time per event meanwhile.
    public struct Measurement: Sendable {
        public var rate: Double
        public var cpuMicroseconds: Double
        public var brokerCpuMicroseconds: Double?

        public init(rate: Double, cpuMicroseconds: Double, brokerCpuMicroseconds: Double? = nil) {
            self.rate = rate
            self.cpuMicroseconds = cpuMicroseconds
            self.brokerCpuMicroseconds = brokerCpuMicroseconds
        }
    }

    /// The broker's CPU time per event between two readings of `brokerCPU` (seconds), if both were read.
    static func perEvent(_ before: Double?, _ after: Double?, events: Int) -> Double? {
        guard let before, let after else { return nil }
        return (after - before) * 1e6 / Double(events)
    }

    /// Ours: the full path — FeedbackEvent → collector → JSON → librdkafka → acknowledged.
    public func runOurs(
        _ setting: Setting, broker: String, topic: String, brokerCPU: () -> Double? = { nil }
    ) async throws -> Measurement {
        var configuration = KafkaConfiguration(brokers: [broker], topic: topic)
        configuration.compression = setting.compression
        configuration.idempotent = setting.idempotent
        configuration.requiredAcks = setting.idempotent ? -1 : 1
        configuration.batchSize = batchSize
        configuration.flushInterval = .milliseconds(lingerMs)
        let capacity = 200_000
        // Built before the clock starts, as kcat's input is written before its run: what is timed is the
        // collector — JSON encoding included — not the benchmark's event generator. Each event is handed
        // over (moved, not copied) as a service hands over the event it just built; the collector then
        // owns and frees it. Reversed so that `popLast` records them in index order.
        var prepared = (0..<events).reversed().map { SyntheticEvents.event($0) }
        let collector = try FeedbackCollector.kafka(configuration, collector: .init(capacity: capacity))
        let start = ContinuousClock.now
        let cpuStart = CPUTime.ofThisProcess()
        let brokerStart = brokerCPU()
        var index = 0
        while let event = prepared.popLast() {
            // Back-pressure for the benchmark's loop, which records far faster than any sender ships: it
            // waits in 5 ms naps while more than half the buffer is taken (at ~600 events per ms, the rest
            // of the buffer lasts over 150 ms). Each nap is two thread wake-ups (timer, executor) that preempt
            // the sender on the cores it shares with the broker: naps of 100 µs cost ~0.3 s of CPU per million
            // events, and 1 ms naps ~3,000 context switches a run (ratio vs kcat 1.05 -> 1.12, 4 runs).
            if index & 1023 == 0 {
                while collector.bufferedEvents > capacity / 2 { try await Task.sleep(for: .milliseconds(5)) }
            }
            try? collector.record(event)
            index += 1
        }
        _ = await collector.flush(timeout: .seconds(120))
        let seconds = (ContinuousClock.now - start).seconds
        let cpu = CPUTime.ofThisProcess() - cpuStart
        let brokerCpu = Self.perEvent(brokerStart, brokerCPU(), events: events)
        let statistics = await collector.shutdown()
        guard statistics.delivered == events else {
            throw ProcessFailure(description: "throughput \(setting.name): only \(statistics) delivered")
        }
        return Measurement(
            rate: Double(events) / seconds, cpuMicroseconds: cpu * 1e6 / Double(events),
            brokerCpuMicroseconds: brokerCpu)
    }

    /// Writes the same events, pre-encoded, as kcat input lines `key<TAB>json`.
    public func writeKcatInput(to path: String) throws {
        _ = FileManager.default.createFile(atPath: path, contents: nil)
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        defer { try? handle.close() }
        var chunk: [UInt8] = []
        chunk.reserveCapacity(1 << 20)
        for index in 0..<events {
            let event = SyntheticEvents.event(index)
            chunk.append(contentsOf: (event.partitionKey ?? "").utf8)
            chunk.append(UInt8(ascii: "\t"))
            chunk.append(contentsOf: event.jsonBytes())
            chunk.append(UInt8(ascii: "\n"))
            if chunk.count > 1 << 20 {
                try handle.write(contentsOf: chunk)
                chunk.removeAll(keepingCapacity: true)
            }
        }
        try handle.write(contentsOf: chunk)
    }

    /// kcat producing the pre-encoded file with the same settings (it exits once everything is acknowledged).
    /// Its CPU time comes from GNU time, which waits for it.
    public func runKcat(
        _ setting: Setting, kcat: String, input: String, broker: String, topic: String,
        brokerCPU: () -> Double? = { nil }
    ) throws -> Measurement {
        let usage = input + ".time"
        var arguments = ["-f", "%U %S", "-o", usage, kcat, "-P", "-b", broker, "-t", topic, "-K", "\t", "-l", input]
        for (key, value) in properties(setting).sorted(by: { $0.key < $1.key }) {
            arguments += ["-X", "\(key)=\(value)"]
        }
        let start = ContinuousClock.now
        let brokerStart = brokerCPU()
        try Shell.run("/usr/bin/time", arguments)
        let rate = Double(events) / (ContinuousClock.now - start).seconds
        let brokerCpu = Self.perEvent(brokerStart, brokerCPU(), events: events)
        let times =
            (try? String(contentsOfFile: usage, encoding: .utf8))?.split(whereSeparator: \.isWhitespace)
            .compactMap { Double($0) } ?? []
        return Measurement(
            rate: rate, cpuMicroseconds: times.reduce(0, +) * 1e6 / Double(events), brokerCpuMicroseconds: brokerCpu)
    }
}

extension Duration {
    var seconds: Double {
        let (whole, attoseconds) = components
        return Double(whole) + Double(attoseconds) / 1e18
    }
}

/// CPU time used so far by this process (all threads, user + system), in seconds.
enum CPUTime {
    static func ofThisProcess() -> Double {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        func seconds(_ time: timeval) -> Double { Double(time.tv_sec) + Double(time.tv_usec) / 1e6 }
        return seconds(usage.ru_utime) + seconds(usage.ru_stime)
    }
}
