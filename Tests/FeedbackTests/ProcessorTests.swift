import Feedback
import FeedbackLog
import FeedbackProcessor
import Foundation
import Pipeline
import Testing

@Suite struct ProcessorTests {
    static let t0: Int64 = 1_704_067_200_000  // 2024-01-01T00:00:00Z
    static let minute: Int64 = 60_000

    func event(
        _ type: FeedbackEventType, _ id: String, user: String = "u1", item: String, request: String = "r1",
        at time: Int64, position: Int = 0, source: String? = nil, extras: [String: AttributeValue] = [:]
    ) -> FeedbackEvent {
        FeedbackEvent(
            type: type, itemID: item, userID: user, deviceID: "d-\(user)", scene: "feed", requestID: request,
            eventID: id,
            timestampMs: Self.t0 + time, position: position, score: 0.5,
            labels: source.map { ["recall_source": $0, "recall_type": $0] } ?? [:], extras: extras)
    }

    /// Impressions, clicks, a conversion, a click without request id, a duplicate and a bad record.
    func stream() -> [[UInt8]] {
        let minute = Self.minute
        let conversionExtras: [String: AttributeValue] = ["amount": .double(40.5), "category": .string("books")]
        var list: [FeedbackEvent] = []
        list.append(event(.impression, "i1", item: "A", at: 0, position: 0, source: "hot"))
        list.append(event(.impression, "i2", item: "B", at: 0, position: 1, source: "hot|ann"))
        list.append(event(.impression, "i3", user: "u2", item: "A", request: "r2", at: 30_000, source: "ann"))
        list.append(event(.click, "c1", item: "B", at: 5 * minute))
        list.append(event(.conversion, "v1", item: "B", at: 6 * minute, extras: conversionExtras))
        list.append(event(.click, "c2", user: "u2", item: "A", request: "", at: 10 * minute))
        list.append(event(.like, "l1", item: "A", at: 11 * minute, source: "hot"))
        var events: [[UInt8]] = list.map { $0.jsonBytes() }
        events.insert(events[3], at: 4)  // the click again: a duplicate
        events.append(Array("not json".utf8))
        // A late event that moves the watermark past the 30-minute windows of everything above.
        let late = event(.impression, "i9", user: "u3", item: "Z", request: "r9", at: 45 * minute, source: "hot")
        events.append(late.jsonBytes())
        return events
    }

    func run(batchSize: Int, stream payloads: [[UInt8]]) throws -> (FeedbackProcessor, ProcessorStatistics, String) {
        let directory = temporaryPath("p")
        let log = try LocalLog(configuration: .init(path: directory + "-log.sqlite"))
        try log.append(payloads.map { LogEntry(key: nil, payload: $0) })
        var configuration = ProcessorConfiguration(
            storePath: directory + "-store.sqlite", samplesDirectory: directory + "-samples")
        configuration.batchSize = batchSize
        let processor = try FeedbackProcessor(log: log, configuration: configuration)
        return (processor, try processor.processAvailable(), directory + "-samples")
    }

    func samples(in directory: String) throws -> [[String: Any]] {
        var lines: [[String: Any]] = []
        let files =
            FileManager.default.enumerator(atPath: directory)?.compactMap { $0 as? String }.filter {
                $0.hasSuffix(".gz")
            } ?? []
        for file in files.sorted() {
            let text = try TestShell.run("/bin/gzip", ["-dc", directory + "/" + file])
            for line in text.split(separator: "\n") {
                lines.append(try #require(JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]))
            }
            #expect(file.hasPrefix("dt=2024-01-01/hour=00/part-"))
        }
        return lines.sorted { ($0["impression_id"] as? String ?? "") < ($1["impression_id"] as? String ?? "") }
    }

    @Test func profilesMetricsAndSamplesAreExact() throws {
        let (processor, statistics, directory) = try run(batchSize: 1000, stream: stream())
        #expect(
            statistics.processed == 8 && statistics.duplicates == 1 && statistics.invalid == 1
                && statistics.samples == 3)

        let u1 = try #require(try processor.profile(user: "u1"))
        #expect(u1.counts == ["impression": 2, "click": 1, "conversion": 1, "like": 1])
        #expect(u1.recentClicks == ["B"])
        #expect(u1.lastSeenMs == Self.t0 + 11 * Self.minute)
        // click (1) and conversion (5) inherit i2's sources hot and ann; the like is on hot (2); books (5).
        let halfLife = 7.0 * 24 * 3600 * 1000
        func decay(_ from: Int64) -> Double { pow(2, -Double(11 * Self.minute - from) / halfLife) }
        #expect(
            abs(
                u1.affinity["recall_source=hot", default: 0] - (decay(5 * Self.minute) + 5 * decay(6 * Self.minute) + 2)
            ) < 1e-9)
        #expect(
            abs(u1.affinity["recall_source=ann", default: 0] - (decay(5 * Self.minute) + 5 * decay(6 * Self.minute)))
                < 1e-9)
        #expect(abs(u1.affinity["category=books", default: 0] - 5 * decay(6 * Self.minute)) < 1e-9)
        #expect(try processor.profile(user: "u2")?.recentClicks == ["A"])
        #expect(try processor.profile(user: "nobody") == nil)

        let windows = Dictionary(
            uniqueKeysWithValues: try processor.metrics(limit: 100).map {
                ("\(($0.minuteMs - Self.t0) / Self.minute) \($0.source)", $0)
            })
        #expect(windows["0 hot"]?.impressions == 1)
        #expect(windows["0 hot|ann"]?.impressions == 1)
        #expect(windows["0 ann"]?.impressions == 1)
        #expect(windows["5 hot|ann"]?.clicks == 1)  // attributed to its impression's source
        #expect(windows["6 hot|ann"]?.conversions == 1 && windows["6 hot|ann"]?.revenue == 40.5)
        #expect(windows["10 unknown"]?.clicks == 1)  // no request id: no impression to inherit from
        #expect(windows["45 hot"]?.impressions == 1)
        #expect(windows.values.reduce(0) { $0 + $1.impressions } == 4)

        let rows = try samples(in: directory)
        #expect(rows.map { $0["impression_id"] as? String } == ["i1", "i2", "i3"])
        #expect(rows.map { $0["clicked"] as? Bool } == [false, true, true])  // i3 by the user+item fallback
        #expect(rows.map { $0["converted"] as? Bool } == [false, true, false])
        #expect(rows[1]["conversion_value"] as? Double == 40.5)
        #expect(rows[1]["click_ts_ms"] as? Int64 == Self.t0 + 5 * Self.minute)
        #expect(rows[0]["click_ts_ms"] is NSNull)
        #expect(
            rows[1]["position"] as? Int == 1
                && rows[1]["labels"] as? [String: String] == ["recall_source": "hot|ann", "recall_type": "hot|ann"])

        // i9's window is still open; closing all windows emits it, once.
        #expect(try processor.closeAllWindows() == 1)
        #expect(try processor.processAvailable().processed == 0)
    }

    @Test func batchBoundariesDoNotChangeTheOutputs() throws {
        let (whole, _, wholeSamples) = try run(batchSize: 1000, stream: stream())
        let (small, statistics, smallSamples) = try run(batchSize: 2, stream: stream())
        #expect(statistics.processed == 8 && statistics.duplicates == 1)
        #expect(try whole.metrics(limit: 100) == small.metrics(limit: 100))
        #expect(try whole.profile(user: "u1") == small.profile(user: "u1"))
        let a = try samples(in: wholeSamples).map { NSDictionary(dictionary: $0) }
        let b = try samples(in: smallSamples).map { NSDictionary(dictionary: $0) }
        #expect(a == b)
    }

    @Test func aStoreWithAnOlderLayoutIsRefusedWithWhatToDo() throws {
        let directory = temporaryPath("old-store")
        let log = try LocalLog(configuration: .init(path: directory + "-log.sqlite"))
        let configuration = ProcessorConfiguration(
            storePath: directory + "-store.sqlite", samplesDirectory: directory + "-samples")
        // A store as the first layout left it: an offsets table and user_version 0.
        let old = try SQLiteConnection(path: configuration.storePath)
        try old.execute("CREATE TABLE offsets (partition INTEGER PRIMARY KEY, applied INTEGER NOT NULL)")
        do {
            _ = try FeedbackProcessor(log: log, configuration: configuration)
            Issue.record("an older store was accepted")
        } catch {
            #expect("\(error)".contains("has layout 0, this version uses 2: move it aside"), "\(error)")
        }
        // A fresh store, and one this version wrote, open.
        _ = try FeedbackProcessor(
            log: log, configuration: .init(storePath: directory + "-new.sqlite", samplesDirectory: directory))
        _ = try FeedbackProcessor(
            log: log, configuration: .init(storePath: directory + "-new.sqlite", samplesDirectory: directory))
    }
}

enum TestShell {
    static func run(_ executable: String, _ arguments: [String]) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return String(decoding: data, as: UTF8.self)
    }

}
