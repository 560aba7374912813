import ArgumentParser
import FeedbackProcessor
import FeedbackProcessorClickHouse
import Foundation

/// The processor's embedded store, for the commands that only read it (profile, metrics) and for `process`.
struct StoreOptions: ParsableArguments {
    @Option(name: .customLong("store"), help: "The processor's embedded store (profiles, metrics, offsets).")
    var path: String = "feedback-data/processor.sqlite"

    /// The store as `feedback process` left it, opened over no input at all: no local log, no broker, and
    /// nothing is processed (opening it adds only what a newer layout needs, as any run would).
    func openForReading() throws -> FeedbackProcessor {
        guard FileManager.default.fileExists(atPath: path) else {
            throw ValidationError("no processor store at \(path): run `feedback process` first or pass --store PATH")
        }
        let directory = (path as NSString).deletingLastPathComponent
        // No batch ever runs, so no sample is written there.
        let configuration = ProcessorConfiguration(
            storePath: path, samplesDirectory: (directory.isEmpty ? "." : directory) + "/samples")
        return try FeedbackProcessor(source: NoInput(), configuration: configuration)
    }

    /// `text` as a ClickHouse HTTP endpoint.
    static func clickHouseURL(_ text: String) throws -> URL {
        guard let url = URL(string: text), url.scheme == "http" || url.scheme == "https", url.host != nil else {
            throw ValidationError("--clickhouse \(text): give its HTTP URL, e.g. http://127.0.0.1:8123")
        }
        return url
    }
}

/// A source with nothing in it: the readers open the processor's store without a log or a broker.
final class NoInput: FeedbackSource {
    var name: String { "none" }
    func start(after applied: [Int32: Int64]) throws {}
    func poll(max: Int, timeout: Duration) throws -> [SourceRecord] { [] }
    func commit(_ records: [SourceRecord]) throws {}
    func rewind(_ records: [SourceRecord]) throws {}
    var assignment: [Int32] { [] }
}

struct ProfileCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "profile", abstract: "Print a user's profile (counts, recent clicks, affinities).",
        discussion: """
            Reads the processor's store only (no log, no broker). Prints a readable summary; with --json, the \
            profile object: {"user","counts","recentClicks","affinity","lastSeenMs"}.
            """)

    @Argument(help: "User id (or device id for anonymous users).")
    var user: String

    @OptionGroup var store: StoreOptions

    @Flag(help: "Print the profile as one JSON object instead of text.")
    var json = false

    func run() throws {
        guard let profile = try store.openForReading().profile(user: user) else {
            throw ValidationError("no profile for '\(user)': has `feedback process` run over its events?")
        }
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
            print(String(decoding: try encoder.encode(profile), as: UTF8.self))
        } else {
            print(Self.text(profile))
        }
    }

    /// The profile as lines of text: counts, recent clicks, affinities strongest first.
    static func text(_ profile: UserProfile) -> String {
        let lastSeen = ISO8601DateFormatter().string(
            from: Date(timeIntervalSince1970: Double(profile.lastSeenMs) / 1000))
        var lines = [
            "user \(profile.user) (last seen \(lastSeen))",
            "counts: "
                + profile.counts.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }
                .joined(separator: ", "),
            "recent clicks (newest first): "
                + (profile.recentClicks.isEmpty ? "none" : profile.recentClicks.joined(separator: ", ")),
            "affinity:" + (profile.affinity.isEmpty ? " none" : ""),
        ]
        for (feature, value) in profile.affinity.sorted(by: { ($0.value, $1.key) > ($1.value, $0.key) }) {
            lines.append(
                "  " + feature.padding(toLength: 30, withPad: " ", startingAt: 0) + String(format: "%.4f", value))
        }
        return lines.joined(separator: "\n")
    }
}

struct MetricsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "metrics",
        abstract:
            "Print the latest live-metric windows (minute × scene × recall source), from the store or ClickHouse.",
        discussion: """
            Reads the processor's store (or, with --clickhouse, the totals of every processor instance) and \
            prints a table, newest minute first; with --json, one line holding a JSON array of the windows: \
            {"minuteMs","scene","source","impressions","clicks","conversions","revenue","ctr","cvr"}.
            """)

    @OptionGroup var store: StoreOptions

    @Option(
        help: "Read the totals over every processor instance from this ClickHouse HTTP endpoint instead of the store.")
    var clickhouse: String?

    @Option(help: "How many windows.")
    var last: Int = 12

    @Flag(help: "Print the windows as a JSON array instead of the table.")
    var json = false

    func validate() throws {
        try OptionCheck.integer(last, "--last", atLeast: 1, "windows")
        if let clickhouse { _ = try StoreOptions.clickHouseURL(clickhouse) }
    }

    func run() throws {
        let windows: [MetricsWindow]
        if let clickhouse {
            // Totals over every processor instance, as ClickHouse holds them.
            windows = try ClickHouseMetricsSink(url: StoreOptions.clickHouseURL(clickhouse)).totals(limit: last)
        } else {
            windows = try store.openForReading().metrics(limit: last)
        }
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            print(String(decoding: try encoder.encode(windows.map(Row.init)), as: UTF8.self))
            return
        }
        let formatter = ISO8601DateFormatter()
        print("minute                scene    source                impressions  clicks  conv  CTR     CVR     revenue")
        for window in windows {
            let minute = formatter.string(from: Date(timeIntervalSince1970: Double(window.minuteMs) / 1000))
            print(
                minute.padding(toLength: 22, withPad: " ", startingAt: 0)
                    + window.scene.padding(toLength: 9, withPad: " ", startingAt: 0)
                    + window.source.padding(toLength: 22, withPad: " ", startingAt: 0)
                    + String(
                        format: "%11d  %6d  %4d  %.4f  %.4f  %.2f", window.impressions, window.clicks,
                        window.conversions, window.ctr, window.cvr, window.revenue))
        }
    }

    /// One window as `--json` prints it: the stored counts and the rates derived from them.
    struct Row: Encodable {
        var minuteMs: Int64
        var scene, source: String
        var impressions, clicks, conversions: Int
        var revenue, ctr, cvr: Double

        init(_ window: MetricsWindow) {
            (minuteMs, scene, source) = (window.minuteMs, window.scene, window.source)
            (impressions, clicks, conversions) = (window.impressions, window.clicks, window.conversions)
            (revenue, ctr, cvr) = (window.revenue, window.ctr, window.cvr)
        }
    }
}
