import Foundation

/// What `feedback process` produced in a directory: the metrics table, one profile and every sample line.
struct ProcessorOutputs: Equatable {
    var metrics: String
    var profile: String
    var samples: [String]

    static func read(_ directory: String, user: String = "user_7") async throws -> ProcessorOutputs {
        let metrics = try FeedbackBinary(["metrics", "--last", "100000"], directory: directory)
        _ = try await metrics.wait()
        let profile = try FeedbackBinary(["profile", user], directory: directory)
        _ = try await profile.wait()
        let listing = try TestEnvironment.run("/usr/bin/find", [directory + "/feedback-data/samples", "-name", "*.gz"])
        var lines: [String] = []
        for file in String(decoding: listing, as: UTF8.self).split(separator: "\n") {
            let text = try TestEnvironment.run("/bin/gzip", ["-dc", String(file)])
            lines += String(decoding: text, as: UTF8.self).split(separator: "\n").map(String.init)
        }
        return ProcessorOutputs(metrics: metrics.stdout, profile: profile.stdout, samples: lines.sorted())
    }

    /// Events a processor store has applied so far (0 before it exists).
    static func applied(_ directory: String) -> Int {
        let store = directory + "/feedback-data/processor.sqlite"
        guard FileManager.default.fileExists(atPath: store),
            let output = try? TestEnvironment.run(
                "/usr/bin/env",
                [
                    "python3", "-c",
                    "import sqlite3,sys; print(sqlite3.connect(sys.argv[1], timeout=5).execute('select coalesce(sum(count), 0) from seen_seconds').fetchone()[0])",
                    store,
                ])
        else { return 0 }
        return Int(String(decoding: output, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0
    }
}
