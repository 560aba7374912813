import ArgumentParser
import FeedbackBench
import Foundation
import Metrics

/// `feedback-bench`: the benchmarks, a binary of their own so that the `feedback` tool links none of them.
@main
struct BenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "feedback-bench",
        abstract: "Measure the collector beside kcat: throughput, hook cost, outage memory, replay, latency.",
        discussion: """
            Starts its own broker (Tansu, in memory, 127.0.0.1). Runs the `feedback` (outage: produce, spool \
            stats) and `feedback-hook-bench` (hook) binaries found beside it: build each of the three with \
            `swift build -c release --product NAME`. --quick runs a tiny version of every benchmark (CI uses it \
            so the command never rots).
            """)

    @Flag(help: "Print one JSON object instead of the table.")
    var json = false

    @Flag(help: "A tiny run of every benchmark (seconds, not minutes).")
    var quick = false

    @Option(help: "Events per throughput run.")
    var events: Int = 1_000_000

    @Option(
        help: ArgumentHelp(
            "Rounds per throughput setting and for the processor (ours and kcat each once a round, the order alternating); medians are reported.",
            discussion:
                "One pair of runs on a machine the broker shares moves ±25 % with its load; the median of alternating rounds is the figure to trust."
        ))
    var rounds: Int = 3

    @Option(help: "Which benchmarks: throughput,hook,outage,latency,processor,processor_hostile (comma-separated).")
    var only: String = "throughput,hook,outage,latency,processor"

    @Option(help: "Throughput settings to run: none,lz4,zstd,idempotent_zstd (comma-separated).")
    var settings: String = "none,lz4,zstd,idempotent_zstd"

    @Option(help: "The Tansu broker binary.")
    var tansu: String = ProcessInfo.processInfo.environment["TANSU_BIN"] ?? ".deps/bin/tansu"

    func validate() throws {
        guard events >= 1 else { throw ValidationError("--events \(events): use 1 or more") }
        guard rounds >= 1 else { throw ValidationError("--rounds \(rounds): use 1 or more") }
        let known = Set(["throughput", "hook", "outage", "latency", "processor", "processor_hostile"])
        for name in only.split(separator: ",").map(String.init) where !known.contains(name) {
            throw ValidationError(
                "--only \(name): use throughput, hook, outage, latency, processor or processor_hostile")
        }
        let settingNames = Set(ThroughputBenchmark.Setting.all.map(\.name))
        for name in settings.split(separator: ",").map(String.init) where !settingNames.contains(name) {
            throw ValidationError("--settings \(name): use none, lz4, zstd or idempotent_zstd")
        }
    }

    func run() async throws {
        let samples = LatencySamples()
        MetricsSystem.bootstrap(samples)
        let selected = Set(only.split(separator: ",").map(String.init))
        let count = quick ? 20_000 : events
        var report = BenchReport(events: count)
        let executable = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        let directory = executable.deletingLastPathComponent()
        let work = FileManager.default.temporaryDirectory.appendingPathComponent("feedback-bench-\(UUID().uuidString)")
            .path
        try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: work) }

        if selected.contains("throughput") {
            guard
                let kcat = ["/usr/bin/kcat", "/usr/local/bin/kcat"].first(where: FileManager.default.isExecutableFile)
            else {
                throw ValidationError("kcat is not installed: run scripts/install-deps.sh")
            }
            let benchmark = ThroughputBenchmark(events: count)
            let input = work + "/kcat-input.txt"
            try benchmark.writeKcatInput(to: input)
            let names = Set(settings.split(separator: ",").map(String.init))
            for setting in ThroughputBenchmark.Setting.all where names.contains(setting.name) {
                var oursRuns: [ThroughputBenchmark.Measurement] = []
                var kcatRuns: [ThroughputBenchmark.Measurement] = []
                for round in 0..<(quick ? 1 : max(1, rounds)) {
                    // A fresh, empty broker for each run: the in-memory broker keeps everything it is sent, and
                    // a broker already holding the other side's million events is slower to append to. The
                    // order alternates, so that neither side always runs on the warmer (or busier) machine.
                    for side in round % 2 == 0 ? ["kcat", "ours"] : ["ours", "kcat"] {
                        let broker = try LocalBroker(tansu: tansu)
                        try broker.createTopic(side)
                        if side == "kcat" {
                            kcatRuns.append(
                                try benchmark.runKcat(
                                    setting, kcat: kcat, input: input, broker: broker.address, topic: side,
                                    brokerCPU: { broker.cpuSeconds }))
                        } else {
                            oursRuns.append(
                                try await benchmark.runOurs(
                                    setting, broker: broker.address, topic: side, brokerCPU: { broker.cpuSeconds }))
                        }
                        broker.stop()
                    }
                    let (ours, kcatRun) = (oursRuns[round], kcatRuns[round])
                    func broker(_ run: ThroughputBenchmark.Measurement) -> String {
                        run.brokerCpuMicroseconds.map { " + broker \(f2($0))" } ?? ""
                    }
                    progress(
                        "throughput \(setting.name): ours \(Int(ours.rate))/s (\(f2(ours.cpuMicroseconds))\(broker(ours)) µs "
                            + "CPU/event), kcat \(Int(kcatRun.rate))/s (\(f2(kcatRun.cpuMicroseconds))\(broker(kcatRun)) µs "
                            + "CPU/event), ratio \(f2(ours.rate / kcatRun.rate))")
                }
                report.throughput[setting.name] = .init(ours: oursRuns, kcat: kcatRuns)
            }
            // Removed at once (~330 MB): not needed any more, and not left for the kernel to write back while
            // the outage benchmark, which spools to the same disk, runs.
            try? FileManager.default.removeItem(atPath: input)
        }
        if selected.contains("hook") {
            let helper = directory.appendingPathComponent("feedback-hook-bench").path
            guard FileManager.default.isExecutableFile(atPath: helper) else {
                throw ProcessFailure(
                    description: "no \(helper): build it with `swift build -c release --product feedback-hook-bench`")
            }
            let output: String
            do {
                output = try Shell.run(helper, [quick ? "500" : "20000"])
            } catch {
                throw ProcessFailure(description: "the hook benchmark failed: \(error)")
            }
            let decoder = JSONDecoder()
            decoder.keyDecodingStrategy = .convertFromSnakeCase
            do {
                report.hook = try decoder.decode(BenchReport.Hook.self, from: Data(output.utf8))
            } catch {
                throw ProcessFailure(
                    description: "the hook benchmark printed no report (\(error)): \(output.suffix(500))")
            }
            progress("hook: p99 \(report.hook!.p99Us) µs")
        }
        if selected.contains("outage") {
            let feedback = directory.appendingPathComponent("feedback").path
            guard FileManager.default.isExecutableFile(atPath: feedback) else {
                throw ProcessFailure(
                    description: "no \(feedback): build it with `swift build -c release --product feedback`")
            }
            let broker = try LocalBroker(tansu: tansu, startNow: false)
            let benchmark = OutageBenchmark(secondsDown: quick ? 3 : 30, rate: quick ? 5_000 : 50_000)
            let (outage, replay) = try await benchmark.run(feedback: feedback, broker: broker, directory: work)
            report.outage = outage
            report.replay = replay
            broker.stop()
            progress("outage: peak \(outage.peakRssMib) MiB; replay \(Int(replay.eventsPerSecond))/s")
        }
        if selected.contains("latency") {
            let broker = try LocalBroker(tansu: tansu)
            try broker.createTopic("latency")
            report.latency = try await LatencyBenchmark(rate: 10_000, seconds: quick ? 1 : 10)
                .run(broker: broker.address, topic: "latency", samples: samples)
            broker.stop()
        }
        if selected.contains("processor") {
            guard
                let kcat = ["/usr/bin/kcat", "/usr/local/bin/kcat"].first(where: FileManager.default.isExecutableFile)
            else {
                throw ValidationError("kcat is not installed: run scripts/install-deps.sh")
            }
            let broker = try LocalBroker(tansu: tansu)
            // As many events as a throughput run (1M): a processor reaches its steady state (every user's
            // recent clicks full, trimmed every batch) only after a few 100k-event batches.
            report.processor = try await ProcessorBenchmark(events: quick ? 5_000 : count, rounds: quick ? 1 : rounds)
                .run(broker: broker, kcat: kcat, directory: work)
            broker.stop()
            progress(
                "processor: \(Int(report.processor!.ours))/s (\(f2(report.processor!.oursCpuUs ?? 0)) µs CPU/event), "
                    + "kcat consuming \(Int(report.processor!.kcat))/s (medians), ratios "
                    + (report.processor!.ratios ?? [report.processor!.ratio]).map { f2($0) }.joined(separator: ", "))
        }
        if selected.contains("processor_hostile") {
            guard
                let kcat = ["/usr/bin/kcat", "/usr/local/bin/kcat"].first(where: FileManager.default.isExecutableFile)
            else {
                throw ValidationError("kcat is not installed: run scripts/install-deps.sh")
            }
            let broker = try LocalBroker(tansu: tansu)
            // 1 % hostile records mixed in: the refusal path (reason, failed-records table) beside the clean one.
            report.processorHostile = try await ProcessorBenchmark(
                events: quick ? 5_000 : count, rounds: quick ? 1 : rounds, hostileEvery: 100
            ).run(broker: broker, kcat: kcat, directory: work)
            broker.stop()
            progress("processor, 1 % hostile: \(Int(report.processorHostile!.ours)) records/s")
        }
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            encoder.keyEncodingStrategy = .convertToSnakeCase  // p50Us -> "p50_us", as the issue names them
            print(String(decoding: try encoder.encode(report), as: UTF8.self))
        } else {
            print(BenchTable.render(report))
        }
    }

    private func f2(_ value: Double) -> String { String(format: "%.2f", value) }

    private func progress(_ text: String) {
        FileHandle.standardError.write(Data("bench: \(text)\n".utf8))
    }
}

/// The human-readable table of a bench report, with each target and whether it holds.
enum BenchTable {
    static func render(_ report: BenchReport) -> String {
        var lines = ["benchmark                  ours            peer (kcat)     ratio   target"]
        func f(_ value: Double, _ digits: Int = 0) -> String { String(format: "%.\(digits)f", value) }
        func pad(_ text: String, _ width: Int) -> String { text.padding(toLength: width, withPad: " ", startingAt: 0) }
        for name in ["none", "lz4", "zstd", "idempotent_zstd"] {
            guard let row = report.throughput[name] else { continue }
            lines.append(
                pad("throughput \(name)", 27) + pad("\(f(row.ours))/s", 16) + pad("\(f(row.kcat))/s", 16)
                    + pad(f(row.ratio, 2), 8) + (row.ratio >= 1 ? "≥ 1.0 ok" : "≥ 1.0 MISSED")
                    + (row.ratios.map { " (median; rounds " + $0.map { f($0, 2) }.joined(separator: ", ") + ")" } ?? "")
            )
            if let ours = row.oursCpuUs, let kcat = row.kcatCpuUs {
                lines.append(
                    pad("  CPU per event", 27) + pad("\(f(ours, 2)) µs", 16) + pad("\(f(kcat, 2)) µs", 16)
                        + pad(f(kcat / ours, 2), 8))
            }
            if let ours = row.oursBrokerCpuUs, let kcat = row.kcatBrokerCpuUs {
                lines.append(
                    pad("  broker CPU per event", 27) + pad("\(f(ours, 2)) µs", 16) + pad("\(f(kcat, 2)) µs", 16))
            }
        }
        if let hook = report.hook {
            lines.append(
                pad("hook p50/p99/p999 (100)", 27)
                    + pad("\(f(hook.p50Us, 1))/\(f(hook.p99Us, 1))/\(f(hook.p999Us, 1)) µs", 40)
                    + (hook.p99Us <= 20 ? "p99 ≤ 20 µs ok" : "p99 ≤ 20 µs MISSED"))
            lines.append(
                pad("hook allocations/event", 27) + pad(f(hook.allocsPerEvent, 3), 40)
                    + (hook.allocsPerEvent <= 1 ? "≤ 1 ok" : "≤ 1 MISSED"))
        }
        if let outage = report.outage {
            lines.append(
                pad("outage peak RSS", 27) + pad("\(f(outage.peakRssMib, 1)) MiB (cap \(f(outage.capMib)))", 40)
                    + (outage.peakRssMib <= outage.capMib ? "≤ cap ok" : "≤ cap MISSED"))
        }
        if let replay = report.replay {
            lines.append(
                pad("replay from spool", 27) + pad("\(f(replay.eventsPerSecond))/s", 40)
                    + (replay.eventsPerSecond >= 200_000 ? "≥ 200k/s ok" : "≥ 200k/s MISSED"))
        }
        if let processor = report.processor {
            lines.append(
                pad("processor from Kafka", 27) + pad("\(f(processor.ours))/s", 16) + pad("\(f(processor.kcat))/s", 16)
                    + pad(f(processor.ratio, 2), 8) + (processor.ratio >= 0.5 ? "≥ 0.5 ok" : "≥ 0.5 MISSED")
                    + (processor.ratios.map { " (median; rounds " + $0.map { f($0, 2) }.joined(separator: ", ") + ")" }
                        ?? ""))
        }
        if let hostile = report.processorHostile {
            lines.append(
                pad("processor, 1 % hostile", 27) + pad("\(f(hostile.ours))/s", 16) + pad("\(f(hostile.kcat))/s", 16)
                    + pad(f(hostile.ratio, 2), 8)
                    + (report.processor.map { " (\(f(hostile.ours / $0.ours * 100 - 100, 1)) % vs clean)" } ?? ""))
        }
        if let latency = report.latency {
            lines.append(
                pad("latency p50/p99 @10k/s", 27) + pad("\(f(latency.p50Ms, 2))/\(f(latency.p99Ms, 2)) ms", 40)
                    + (latency.p99Ms <= 50 ? "p99 ≤ 50 ms ok" : "p99 ≤ 50 ms MISSED"))
        }
        return lines.joined(separator: "\n")
    }
}
