import FeedbackLog
import Foundation
import SQLiteStore

/// What `feedback process` produced in a directory: the metrics table, one profile and every sample line.
struct ProcessorOutputs: Equatable {
    var metrics: String
    var profile: String
    var samples: [String]

    static func read(_ directory: String, user: String = "user_7") async throws -> ProcessorOutputs {
        let metrics = try FeedbackBinary(["metrics", "--last", "100000"], directory: directory)
        _ = try await metrics.wait()
        let profile = try FeedbackBinary(["profile", user, "--json"], directory: directory)
        _ = try await profile.wait()
        let listing = try TestEnvironment.run("/usr/bin/find", [directory + "/feedback-data/samples", "-name", "*.gz"])
        var lines: [String] = []
        for file in String(decoding: listing, as: UTF8.self).split(separator: "\n") {
            let text = try TestEnvironment.run("/bin/gzip", ["-dc", String(file)])
            lines += String(decoding: text, as: UTF8.self).split(separator: "\n").map(String.init)
        }
        return ProcessorOutputs(metrics: metrics.stdout, profile: profile.stdout, samples: lines.sorted())
    }

    /// Events a processor store has applied so far (0 before it exists). Read in process: a `python3` started
    /// per check could take longer, on a cold machine, than the whole run a test wanted to interrupt.
    static func applied(_ directory: String) -> Int {
        let store = directory + "/feedback-data/processor.sqlite"
        guard FileManager.default.fileExists(atPath: store), let connection = try? SQLiteConnection(path: store),
            (try? connection.execute("PRAGMA busy_timeout=1000")) != nil,
            let applied = try? connection.queryInt("SELECT coalesce(sum(count), 0) FROM seen_seconds", [])
        else { return 0 }
        return Int(applied)
    }
}
