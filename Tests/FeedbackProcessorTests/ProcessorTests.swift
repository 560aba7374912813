import Feedback
import FeedbackLog
import Foundation
import Pipeline
import TestSupport
import Testing

@testable import FastCollections
@testable import FeedbackProcessor
@testable import FeedbackWire
@testable import SQLiteStore

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

    func run(batchSize: Int, pollSize: Int = 10_000, stream payloads: [[UInt8]]) throws -> (
        FeedbackProcessor, ProcessorStatistics, String
    ) {
        let directory = temporaryPath("p")
        let log = try LocalLog(configuration: .init(path: directory + "-log.sqlite"))
        try log.append(payloads.map { LogEntry(key: nil, payload: $0) })
        var configuration = ProcessorConfiguration(
            storePath: directory + "-store.sqlite", samplesDirectory: directory + "-samples")
        configuration.batchSize = batchSize
        configuration.pollSize = pollSize
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
            statistics.processed == 8 && statistics.duplicates == 1 && statistics.failed == 1
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

    /// Batches of 2 records; and a batch of every record read 1, 2 or 3 records per poll (a duplicate then
    /// arrives in a later poll of the same transaction).
    @Test(arguments: [(2, 2), (1000, 1), (1000, 2), (1000, 3)])
    func batchAndPollBoundariesDoNotChangeTheOutputs(batchSize: Int, pollSize: Int) throws {
        let (whole, _, wholeSamples) = try run(batchSize: 1000, stream: stream())
        let (small, statistics, smallSamples) = try run(batchSize: batchSize, pollSize: pollSize, stream: stream())
        #expect(statistics.processed == 8 && statistics.duplicates == 1)
        #expect(try whole.metrics(limit: 100) == small.metrics(limit: 100))
        #expect(try whole.profile(user: "u1") == small.profile(user: "u1"))
        let a = try samples(in: wholeSamples).map { NSDictionary(dictionary: $0) }
        let b = try samples(in: smallSamples).map { NSDictionary(dictionary: $0) }
        #expect(a == b)
    }

    /// The join state lives in memory and in the store as segments: a processor restarted after every
    /// record (so loading its state from the store each time) ends with the outputs of one that never stopped.
    @Test func restartingAfterEveryRecordDoesNotChangeTheOutputs() throws {
        let (whole, _, wholeSamples) = try run(batchSize: 1000, stream: stream())
        let directory = temporaryPath("restarts")
        let log = try LocalLog(configuration: .init(path: directory + "-log.sqlite"))
        try log.append(stream().map { LogEntry(key: nil, payload: $0) })
        var configuration = ProcessorConfiguration(
            storePath: directory + "-store.sqlite", samplesDirectory: directory + "-samples")
        configuration.batchSize = 1
        var total = ProcessorStatistics()
        var last: FeedbackProcessor?
        for _ in 0..<20 {
            let processor = try FeedbackProcessor(log: log, configuration: configuration)
            total.add(try processor.processBatch())
            last = processor
        }
        #expect(total.processed == 8 && total.duplicates == 1 && total.failed == 1, "\(total)")
        let restarted = try #require(last)
        #expect(try whole.metrics(limit: 100) == restarted.metrics(limit: 100))
        #expect(try whole.profile(user: "u1") == restarted.profile(user: "u1"))
        let a = try samples(in: wholeSamples).map { NSDictionary(dictionary: $0) }
        let b = try samples(in: directory + "-samples").map { NSDictionary(dictionary: $0) }
        #expect(a.count == 3 && a == b)
        // i9's window is still open in the store's segments: a new processor closes it, once.
        #expect(try FeedbackProcessor(log: log, configuration: configuration).closeAllWindows() == 1)
        #expect(try FeedbackProcessor(log: log, configuration: configuration).closeAllWindows() == 0)
    }

    /// A sink that fails its second write (a unit-test stand-in for a Redis outage).
    final class FailingOnceSink: ProfileSink {
        var writes = 0
        func write(_ profiles: [UserProfile]) throws {
            writes += 1
            if writes == 2 { throw ProcessorError.storage("the sink is down") }
        }
    }

    /// A batch that fails (its transaction rolled back) is read again by the same processor: retrying
    /// skips nothing and counts nothing twice.
    /// Batches of 2 records in one poll, and of 4 records in polls of 1 (the failed batch spans polls).
    @Test(arguments: [(2, 10_000), (4, 1)])
    func aFailedBatchIsReadAgainByTheSameProcessor(batchSize: Int, pollSize: Int) throws {
        let (whole, _, wholeSamples) = try run(batchSize: 1000, stream: stream())
        let directory = temporaryPath("failed-batch")
        let log = try LocalLog(configuration: .init(path: directory + "-log.sqlite"))
        try log.append(stream().map { LogEntry(key: nil, payload: $0) })
        var configuration = ProcessorConfiguration(
            storePath: directory + "-store.sqlite", samplesDirectory: directory + "-samples")
        configuration.batchSize = batchSize
        configuration.pollSize = pollSize
        let processor = try FeedbackProcessor(log: log, configuration: configuration, profileSinks: [FailingOnceSink()])
        var total = try processor.processBatch()
        #expect(throws: (any Error).self) { try processor.processBatch() }
        total.add(try processor.processAvailable())
        #expect(total.processed == 8 && total.duplicates == 1 && total.failed == 1, "\(total)")
        #expect(try whole.metrics(limit: 100) == processor.metrics(limit: 100))
        #expect(try whole.profile(user: "u1") == processor.profile(user: "u1"))
        #expect(try whole.profile(user: "u2") == processor.profile(user: "u2"))
        let a = try samples(in: wholeSamples).map { NSDictionary(dictionary: $0) }
        let b = try samples(in: directory + "-samples").map { NSDictionary(dictionary: $0) }
        #expect(a.count == 3 && a == b)
    }

    /// Sample files are written on another thread while the batch goes to the store: when they cannot be
    /// written, the batch still fails whole (nothing committed), and once they can, the outputs are exact.
    @Test func samplesThatCannotBeWrittenRollTheBatchBack() throws {
        let (whole, _, wholeSamples) = try run(batchSize: 1000, stream: stream())
        let directory = temporaryPath("unwritable")
        let log = try LocalLog(configuration: .init(path: directory + "-log.sqlite"))
        try log.append(stream().map { LogEntry(key: nil, payload: $0) })
        // A file where the samples directory should be: creating dt=.../hour=... under it fails.
        try Data("not a directory".utf8).write(to: URL(fileURLWithPath: directory + "-blocked"))
        var blocked = ProcessorConfiguration(
            storePath: directory + "-store.sqlite", samplesDirectory: directory + "-blocked")
        blocked.batchSize = 1000
        #expect(throws: (any Error).self) { try FeedbackProcessor(log: log, configuration: blocked).processBatch() }
        var open = blocked
        open.samplesDirectory = directory + "-samples"
        let processor = try FeedbackProcessor(log: log, configuration: open)
        let total = try processor.processAvailable()
        #expect(total.processed == 8 && total.duplicates == 1 && total.failed == 1, "\(total)")
        #expect(try whole.metrics(limit: 100) == processor.metrics(limit: 100))
        #expect(try whole.profile(user: "u1") == processor.profile(user: "u1"))
        let a = try samples(in: wholeSamples).map { NSDictionary(dictionary: $0) }
        let b = try samples(in: directory + "-samples").map { NSDictionary(dictionary: $0) }
        #expect(a.count == 3 && a == b)
    }

    /// A user who clicked more than `recentClicks` times keeps only the newest ones, across batches.
    @Test func recentClicksKeepsTheNewest() throws {
        let clicks = (0..<25).map { index in
            event(.click, "c\(index)", item: "I\(index)", request: "", at: Int64(index) * 1000).jsonBytes()
        }
        for batchSize in [7, 1000] {
            let (processor, statistics, _) = try run(batchSize: batchSize, stream: clicks)
            #expect(statistics.processed == 25)
            let profile = try #require(try processor.profile(user: "u1"))
            #expect(profile.counts["click"] == 25)
            #expect(profile.recentClicks == (5..<25).reversed().map { "I\($0)" }, "batches of \(batchSize)")
        }
    }

    /// Profiles of the last batch are kept in memory for the next, but only while the store is the
    /// processor's alone: a profile another process changed (here: deleted, as when a user is forgotten)
    /// between batches is read from the store again.
    @Test func profilesChangedByAnotherProcessAreNotServedFromMemory() throws {
        let directory = temporaryPath("profile-memory")
        let log = try LocalLog(configuration: .init(path: directory + "-log.sqlite"))
        var configuration = ProcessorConfiguration(
            storePath: directory + "-store.sqlite", samplesDirectory: directory + "-samples")
        configuration.batchSize = 2
        let processor = try FeedbackProcessor(log: log, configuration: configuration)
        func click(_ index: Int) -> LogEntry {
            LogEntry(key: nil, payload: event(.click, "c\(index)", item: "I\(index)", at: Int64(index)).jsonBytes())
        }
        try log.append([click(0), click(1), click(2), click(3)])
        try processor.processAvailable()
        #expect(try processor.profile(user: "u1")?.counts["click"] == 4)
        #expect(processor.runner.profiles.holdsCommitted(user: "u1"))  // the last batch's profile, kept for the next

        // Same process, no other writer: the next batch takes the profile from memory and counts on.
        try log.append([click(4)])
        try processor.processAvailable()
        #expect(try processor.profile(user: "u1")?.counts["click"] == 5)

        let other = try SQLiteConnection(path: configuration.storePath)
        try other.execute("DELETE FROM profiles WHERE user_id = 'u1'")
        try log.append([click(5), click(6)])
        try processor.processAvailable()
        let profile = try #require(try processor.profile(user: "u1"))
        #expect(profile.counts["click"] == 2 && profile.recentClicks == ["I6", "I5"], "\(profile)")
    }

    @Test func outOfRangeSettingsAreRefusedWithWhatToUse() throws {
        let directory = temporaryPath("settings")
        let log = try LocalLog(configuration: .init(path: directory + "-log.sqlite"))
        for change in [
            { (c: inout ProcessorConfiguration) in c.batchSize = 0 }, { $0.pollSize = 0 },
            { $0.samplesCompressionLevel = 10 },
        ] {
            var configuration = ProcessorConfiguration(
                storePath: directory + "-store.sqlite", samplesDirectory: directory + "-samples")
            change(&configuration)
            #expect {
                _ = try FeedbackProcessor(log: log, configuration: configuration)
            } throws: { error in
                guard case ProcessorError.configuration(let message) = error else { return false }
                return message.contains("use 1")
            }
        }
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
            #expect(
                "\(error)".contains(
                    "has layout 0, this version uses \(StoreLayout.version): move it aside"), "\(error)")
        }
        // A fresh store, and one this version wrote, open.
        _ = try FeedbackProcessor(
            log: log, configuration: .init(storePath: directory + "-new.sqlite", samplesDirectory: directory))
        _ = try FeedbackProcessor(
            log: log, configuration: .init(storePath: directory + "-new.sqlite", samplesDirectory: directory))
    }
}

extension ProcessorTests {
    /// A store left by layout 2 (join state as rows, seen ids keyed by id) after the stream's first four
    /// events is migrated in place: processing the rest gives the samples of a clean run, and the click sent
    /// again is still a duplicate.
    @Test func aLayout2StoreIsMigratedAndGivesTheSamplesOfACleanRun() throws {
        let payloads = stream()
        let (_, _, cleanSamples) = try run(batchSize: 1000, stream: payloads)
        let directory = temporaryPath("layout2")
        let log = try LocalLog(configuration: .init(path: directory + "-log.sqlite"))
        try log.append(payloads.map { LogEntry(key: nil, payload: $0) })
        let configuration = ProcessorConfiguration(
            storePath: directory + "-store.sqlite", samplesDirectory: directory + "-samples")
        let old = try SQLiteConnection(path: configuration.storePath)
        let t0 = Self.t0
        let minute = Self.minute
        try old.execute(
            """
            PRAGMA user_version=2;
            CREATE TABLE offsets (partition INTEGER PRIMARY KEY, applied INTEGER NOT NULL,
                newest_ms INTEGER NOT NULL DEFAULT 0);
            CREATE TABLE counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;
            CREATE TABLE seen (event_id TEXT PRIMARY KEY, ts INTEGER NOT NULL) WITHOUT ROWID;
            CREATE INDEX seen_ts ON seen(ts);
            CREATE TABLE profile_counts (user_id TEXT, type TEXT, count INTEGER NOT NULL,
                PRIMARY KEY (user_id, type)) WITHOUT ROWID;
            CREATE TABLE profile_seen (user_id TEXT PRIMARY KEY, last_seen_ms INTEGER NOT NULL) WITHOUT ROWID;
            CREATE TABLE profile_clicks (user_id TEXT, ts INTEGER, event_id TEXT, item_id TEXT,
                PRIMARY KEY (user_id, ts, event_id)) WITHOUT ROWID;
            CREATE TABLE profile_affinity (user_id TEXT, feature TEXT, score REAL NOT NULL,
                updated_ms INTEGER NOT NULL, PRIMARY KEY (user_id, feature)) WITHOUT ROWID;
            CREATE TABLE metrics (minute_ms INTEGER, scene TEXT, source TEXT, impressions INTEGER NOT NULL,
                clicks INTEGER NOT NULL, conversions INTEGER NOT NULL, revenue REAL NOT NULL,
                PRIMARY KEY (minute_ms, scene, source)) WITHOUT ROWID;
            CREATE TABLE pending (ts INTEGER, event_id TEXT, request_id TEXT, user_id TEXT, device_id TEXT,
                item_id TEXT, scene TEXT, position INTEGER, score REAL, labels TEXT, PRIMARY KEY (ts, event_id))
                WITHOUT ROWID;
            CREATE INDEX pending_request ON pending(request_id, item_id);
            CREATE TABLE actions (request_id TEXT, item_id TEXT, event_id TEXT, type TEXT, user_id TEXT, ts INTEGER,
                value REAL, PRIMARY KEY (request_id, item_id, event_id)) WITHOUT ROWID;
            CREATE INDEX actions_user ON actions(user_id, item_id, ts);
            CREATE INDEX actions_ts ON actions(ts);
            INSERT INTO offsets VALUES (0, 4, \(t0 + 5 * minute));
            INSERT INTO seen VALUES ('i1', \(t0)), ('i2', \(t0)), ('i3', \(t0 + 30_000)), ('c1', \(t0 + 5 * minute));
            INSERT INTO pending VALUES
                (\(t0), 'i1', 'r1', 'u1', 'd-u1', 'A', 'feed', 0, 0.5,
                    '{"recall_source":"hot","recall_type":"hot"}'),
                (\(t0), 'i2', 'r1', 'u1', 'd-u1', 'B', 'feed', 1, 0.5,
                    '{"recall_source":"hot|ann","recall_type":"hot|ann"}'),
                (\(t0 + 30_000), 'i3', 'r2', 'u2', 'd-u2', 'A', 'feed', 0, 0.5,
                    '{"recall_source":"ann","recall_type":"ann"}');
            INSERT INTO actions VALUES ('r1', 'B', 'c1', 'click', 'u1', \(t0 + 5 * minute), 0);
            """)
        let processor = try FeedbackProcessor(log: log, configuration: configuration)
        let statistics = try processor.processAvailable()
        #expect(statistics.duplicates == 1 && statistics.processed == 4 && statistics.failed == 1, "\(statistics)")
        let a = try samples(in: cleanSamples).map { NSDictionary(dictionary: $0) }
        let b = try samples(in: directory + "-samples").map { NSDictionary(dictionary: $0) }
        #expect(a.count == 3 && a == b, "\(b)")
        let layout = try SQLiteConnection(path: configuration.storePath)
        #expect(try layout.queryInt("PRAGMA user_version", []) == StoreLayout.version)
        #expect(try layout.queryInt("SELECT count(*) FROM sqlite_master WHERE name IN ('pending', 'actions')", []) == 0)
    }

    /// Layout 3 kept seen ids as text; migrated, they are hashed and still catch the same duplicates.
    @Test func aLayout3StoreIsMigratedAndItsSeenIdsStillCatchDuplicates() throws {
        let directory = temporaryPath("layout3")
        let log = try LocalLog(configuration: .init(path: directory + "-log.sqlite"))
        try log.append(stream().map { LogEntry(key: nil, payload: $0) })
        let configuration = ProcessorConfiguration(
            storePath: directory + "-store.sqlite", samplesDirectory: directory + "-samples")
        let old = try SQLiteConnection(path: configuration.storePath)
        try old.execute(
            """
            PRAGMA user_version=3;
            CREATE TABLE offsets (partition INTEGER PRIMARY KEY, applied INTEGER NOT NULL,
                newest_ms INTEGER NOT NULL DEFAULT 0);
            CREATE TABLE counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;
            CREATE TABLE seen (ts INTEGER, event_id TEXT, PRIMARY KEY (ts, event_id)) WITHOUT ROWID;
            CREATE TABLE profile_counts (user_id TEXT, type TEXT, count INTEGER NOT NULL,
                PRIMARY KEY (user_id, type)) WITHOUT ROWID;
            CREATE TABLE profile_seen (user_id TEXT PRIMARY KEY, last_seen_ms INTEGER NOT NULL) WITHOUT ROWID;
            CREATE TABLE profile_clicks (user_id TEXT, ts INTEGER, event_id TEXT, item_id TEXT,
                PRIMARY KEY (user_id, ts, event_id)) WITHOUT ROWID;
            CREATE TABLE profile_affinity (user_id TEXT, feature TEXT, score REAL NOT NULL,
                updated_ms INTEGER NOT NULL, PRIMARY KEY (user_id, feature)) WITHOUT ROWID;
            CREATE TABLE metrics (minute_ms INTEGER, scene TEXT, source TEXT, impressions INTEGER NOT NULL,
                clicks INTEGER NOT NULL, conversions INTEGER NOT NULL, revenue REAL NOT NULL,
                PRIMARY KEY (minute_ms, scene, source)) WITHOUT ROWID;
            CREATE TABLE attribution_segments (id INTEGER PRIMARY KEY, bound INTEGER NOT NULL, data BLOB NOT NULL);
            INSERT INTO seen VALUES (\(Self.t0), 'i1'), (\(Self.t0 + 5 * Self.minute), 'c1'), (\(Self.t0), 'other');
            """)
        let processor = try FeedbackProcessor(log: log, configuration: configuration)
        let statistics = try processor.processAvailable()
        // The stream's 8 events and its own duplicate, less i1 and c1, applied before the migration.
        #expect(statistics.processed == 6 && statistics.duplicates == 3, "\(statistics)")
        let layout = try SQLiteConnection(path: configuration.storePath)
        #expect(try layout.queryInt("PRAGMA user_version", []) == StoreLayout.version)
        // Every id kept: the stream's 8 distinct events and `other`.
        #expect(try SeenIDs.count(in: layout) == 9)
    }

    /// Events with times at the ends of `Int64` (which overflowed the window arithmetic and stopped the
    /// processor at them on every restart) are counted invalid; the rest is processed. Windows beyond a
    /// century are refused with what to use.
    @Test func eventsWithTimesOutOfRangeAreInvalidAndWindowsAreBounded() throws {
        let directory = temporaryPath("extreme-times")
        let log = try LocalLog(configuration: .init(path: directory + "-log.sqlite"))
        let extreme = [
            #"{"event_id":"x1","item_id":"A","type":"impression","request_id":"r","user_id":"u","timestamp_ms":9223372036854775807}"#,
            #"{"event_id":"x2","item_id":"A","type":"click","request_id":"r","user_id":"u","timestamp_ms":-9223372036854775808}"#,
            #"{"event_id":"x3","item_id":"A","type":"click","user_id":"u","timestamp":9223372036854775807}"#,
        ].map { Array($0.utf8) }
        try log.append((stream() + extreme).map { LogEntry(key: nil, payload: $0) })
        var configuration = ProcessorConfiguration(
            storePath: directory + "-store.sqlite", samplesDirectory: directory + "-samples")
        let processor = try FeedbackProcessor(log: log, configuration: configuration)
        var statistics = try processor.processAvailable()
        statistics.samples += try processor.closeAllWindows()
        #expect(statistics.processed == 8 && statistics.duplicates == 1 && statistics.failed == 4, "\(statistics)")

        for (name, window) in [("attributionWindow", Duration.seconds(Int64.max)), ("deduplicationWindow", .zero)] {
            var bad = configuration
            if name == "attributionWindow" { bad.attributionWindow = window } else { bad.deduplicationWindow = window }
            #expect {
                _ = try FeedbackProcessor(log: log, configuration: bad)
            } throws: { error in
                "\(error)".contains("\(name) is") && "\(error)".contains("use 1 ms to 100 years")
            }
        }
        configuration.attributionWindow = .seconds(100 * 365 * 86_400)
        _ = try FeedbackProcessor(log: log, configuration: configuration)  // a century is fine
    }

    /// Layout 5 kept attribution segments plain: its store is read as it is (layout 6 deflates the segments
    /// it writes) and marked with the current layout.
    @Test func aLayout5StoreWithPlainSegmentsIsReadAndMigrated() throws {
        let directory = temporaryPath("layout5")
        let log = try LocalLog(configuration: .init(path: directory + "-log.sqlite"))
        try log.append(stream().map { LogEntry(key: nil, payload: $0) })
        let configuration = ProcessorConfiguration(
            storePath: directory + "-store.sqlite", samplesDirectory: directory + "-samples")
        let open: (impressions: Int, actions: Int)
        do {
            let processor = try FeedbackProcessor(log: log, configuration: configuration)
            try processor.processAvailable()
            let state = try processor.runner.attribution()
            open = (state.impressionCount, state.actionCount)
        }
        #expect(open.impressions > 0 && open.actions > 0)
        let store = try SQLiteConnection(path: configuration.storePath)
        for row in try store.query("SELECT id, data FROM attribution_segments", []) {
            guard case .int(let id) = row[0], case .blob(let data) = row[1] else { continue }
            #expect(data.first == SegmentDeflate.marker)
            try store.run(
                "UPDATE attribution_segments SET data = ? WHERE id = ?",
                [.blob(SegmentDeflate.inflated(data, origin: store.path)), .int(id)])
        }
        try store.execute("PRAGMA user_version=5")
        let reopened = try FeedbackProcessor(log: log, configuration: configuration)
        let state = try reopened.runner.attribution()
        #expect(state.impressionCount == open.impressions && state.actionCount == open.actions)
        #expect(try store.queryInt("PRAGMA user_version", []) == StoreLayout.version)
    }

    /// Layout 4 kept seen ids one row per event; migrated to one row per second, they still catch the same
    /// duplicates.
    @Test func aLayout4StoreIsMigratedAndItsSeenIdsStillCatchDuplicates() throws {
        let directory = temporaryPath("layout4")
        let log = try LocalLog(configuration: .init(path: directory + "-log.sqlite"))
        try log.append(stream().map { LogEntry(key: nil, payload: $0) })
        let configuration = ProcessorConfiguration(
            storePath: directory + "-store.sqlite", samplesDirectory: directory + "-samples")
        let old = try SQLiteConnection(path: configuration.storePath)
        try old.execute(
            """
            PRAGMA user_version=4;
            CREATE TABLE offsets (partition INTEGER PRIMARY KEY, applied INTEGER NOT NULL,
                newest_ms INTEGER NOT NULL DEFAULT 0);
            CREATE TABLE counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;
            CREATE TABLE seen (ts INTEGER, id_hash INTEGER, PRIMARY KEY (ts, id_hash)) WITHOUT ROWID;
            CREATE TABLE profile_counts (user_id TEXT, type TEXT, count INTEGER NOT NULL,
                PRIMARY KEY (user_id, type)) WITHOUT ROWID;
            CREATE TABLE profile_seen (user_id TEXT PRIMARY KEY, last_seen_ms INTEGER NOT NULL) WITHOUT ROWID;
            CREATE TABLE profile_clicks (user_id TEXT, ts INTEGER, event_id TEXT, item_id TEXT,
                PRIMARY KEY (user_id, ts, event_id)) WITHOUT ROWID;
            CREATE TABLE profile_affinity (user_id TEXT, feature TEXT, score REAL NOT NULL,
                updated_ms INTEGER NOT NULL, PRIMARY KEY (user_id, feature)) WITHOUT ROWID;
            CREATE TABLE metrics (minute_ms INTEGER, scene TEXT, source TEXT, impressions INTEGER NOT NULL,
                clicks INTEGER NOT NULL, conversions INTEGER NOT NULL, revenue REAL NOT NULL,
                PRIMARY KEY (minute_ms, scene, source)) WITHOUT ROWID;
            CREATE TABLE attribution_segments (id INTEGER PRIMARY KEY, bound INTEGER NOT NULL, data BLOB NOT NULL);
            INSERT INTO seen VALUES (\(Self.t0), \(EventIDHash.of("i1"))),
                (\(Self.t0 + 5 * Self.minute), \(EventIDHash.of("c1"))), (\(Self.t0), \(EventIDHash.of("other")));
            INSERT INTO profile_seen VALUES ('old', \(Self.t0));
            INSERT INTO profile_counts VALUES ('old', 'click', 2), ('old', 'impression', 3);
            INSERT INTO profile_clicks VALUES ('old', \(Self.t0 - 2), 'e1', 'X'), ('old', \(Self.t0 - 1), 'e2', 'Y');
            INSERT INTO profile_affinity VALUES ('old', 'recall_source=hot', 1.5, \(Self.t0 - 7 * 24 * 3600 * 1000));
            """)
        let processor = try FeedbackProcessor(log: log, configuration: configuration)
        let statistics = try processor.processAvailable()
        // The stream's 8 events and its own duplicate, less i1 and c1, applied before the migration.
        #expect(statistics.processed == 6 && statistics.duplicates == 3, "\(statistics)")
        let layout = try SQLiteConnection(path: configuration.storePath)
        #expect(try layout.queryInt("PRAGMA user_version", []) == StoreLayout.version)
        #expect(
            try layout.queryInt("SELECT count(*) FROM sqlite_master WHERE name GLOB 'profile_*' OR name = 'seen'", [])
                == 0)
        #expect(try SeenIDs.count(in: layout) == 9)
        // A profile of the old tables reads as it did (its affinity one half-life old: halved).
        let migrated = try #require(try processor.profile(user: "old"))
        #expect(migrated.counts == ["click": 2, "impression": 3] && migrated.recentClicks == ["Y", "X"])
        #expect(migrated.lastSeenMs == Self.t0 && migrated.affinity == ["recall_source=hot": 0.75])
        #expect(try processor.profile(user: "u1")?.counts == ["impression": 1, "conversion": 1, "like": 1])
    }

    /// The hash is stored: a change here would let duplicates through across an upgrade. (Expected values
    /// from an independent implementation: FNV-1a 64, then MurmurHash3's fmix64.)
    /// Level 1 compresses each poll's samples as its windows close (a gzip stream per hour), other levels the
    /// whole batch at its end: the files read the same either way, over batches and polls of every size.
    @Test(arguments: [(1000, 10_000), (3, 1), (4, 2)])
    func samplesReadTheSameAtEveryCompressionLevel(batchSize: Int, pollSize: Int) throws {
        func samples(level: Int, batchSize: Int, pollSize: Int) throws -> [NSDictionary] {
            let directory = temporaryPath("level-\(level)")
            let log = try LocalLog(configuration: .init(path: directory + "-log.sqlite"))
            try log.append(stream().map { LogEntry(key: nil, payload: $0) })
            var configuration = ProcessorConfiguration(
                storePath: directory + "-store.sqlite", samplesDirectory: directory + "-samples")
            (configuration.batchSize, configuration.pollSize) = (batchSize, pollSize)
            configuration.samplesCompressionLevel = level
            let processor = try FeedbackProcessor(log: log, configuration: configuration)
            try processor.processAvailable()
            try processor.closeAllWindows()
            return try self.samples(in: directory + "-samples").map { NSDictionary(dictionary: $0) }
        }
        let reference = try samples(level: 1, batchSize: 1000, pollSize: 10_000)
        #expect(reference.count == 4)
        for level in [1, 2, 9] {
            let read = try samples(level: level, batchSize: batchSize, pollSize: pollSize)
            #expect(read == reference, "level \(level)")
        }
    }

    /// A batch's samples added poll by poll, over several hours: at level 1 each hour's stream takes them as
    /// they come; the files hold every line, in order, as a batch compressed whole at its end holds them.
    @Test func samplesAddedPollByPollAreWrittenInOrderPerHour() throws {
        let closed = (0..<3_000).map { index in
            ClosedImpression(
                impression: AttributionState.Impression(
                    eventID: "e\(index)", requestID: "r\(index / 10)", user: "u\(index % 7)", device: "d",
                    item: "i\(index)", scene: "feed", position: Int64(index % 10), score: 0.5,
                    labels: EventLabels(["recall_source": "hot"]), timestampMs: Self.t0 + Int64(index) * 4_000))
        }
        var files: [[String]] = []
        for level: Int32 in [1, 9] {
            var batch = SampleBatch(level: level)
            for poll in stride(from: 0, to: closed.count, by: 700) {
                batch.append(Array(closed[poll..<min(poll + 700, closed.count)]))
            }
            #expect(batch.count == closed.count)
            let directory = temporaryPath("poll-by-poll-\(level)")
            try batch.write(to: directory, part: "1")
            let names = try #require(FileManager.default.enumerator(atPath: directory)?.compactMap { $0 as? String })
                .filter { $0.hasSuffix(".gz") }.sorted()
            #expect(names.count == 4, "\(names)")  // 3,000 × 4 s: hours 0 to 3
            files.append(try names.map { try TestShell.run("/bin/gzip", ["-dc", directory + "/" + $0]) })
        }
        #expect(files[0] == files[1])
        let ids = files[0].joined().split(separator: "\n").map {
            try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
        }.compactMap { $0?["impression_id"] as? String }
        #expect(ids == closed.map(\.impression.eventID))
    }

    /// Impressions over 300 hours, added in polls that come back to earlier hours: at most 64 compressors
    /// are open at once (~360 KB each); the hours whose stream was closed get several gzip members in one
    /// file, which read back as every line in order — as the whole-buffer level writes them.
    @Test func samplesOverManyHoursKeepAtMost64StreamsOpen() throws {
        let hours = 300
        let closed = (0..<(hours * 4)).map { index in
            ClosedImpression(
                impression: AttributionState.Impression(
                    eventID: "e\(index)", requestID: "r\(index)", user: "u", device: "d", item: "i\(index)",
                    scene: "feed", position: 0, score: 0.5, labels: EventLabels(["recall_source": "hot"]),
                    timestampMs: Self.t0 + Int64(index % hours) * 3_600_000 + Int64(index / hours) * 1000))
        }
        var files: [[String]] = []
        for level: Int32 in [1, 9] {
            var batch = SampleBatch(level: level)
            for poll in stride(from: 0, to: closed.count, by: 100) {
                batch.append(Array(closed[poll..<min(poll + 100, closed.count)]))
                #expect(batch.openStreams <= SampleBatch.maxOpenStreams)
            }
            let directory = temporaryPath("many-hours-\(level)")
            try batch.write(to: directory, part: "1")
            let names = try #require(FileManager.default.enumerator(atPath: directory)?.compactMap { $0 as? String })
                .filter { $0.hasSuffix(".gz") }.sorted()
            #expect(names.count == hours)
            files.append(try names.map { try TestShell.run("/bin/gzip", ["-dc", directory + "/" + $0]) })
        }
        #expect(files[0] == files[1])
        #expect(files[0].joined().split(separator: "\n").count == closed.count)
    }

    /// The processor's connection never checkpoints inside a batch's commit; its checkpointer copies the
    /// write-ahead log into the database between batches, so the log is reused from its start instead of
    /// growing with every batch.
    @Test func theStoreLogIsCheckpointedBetweenBatches() throws {
        let directory = temporaryPath("checkpoint")
        let log = try LocalLog(configuration: .init(path: directory + "-log.sqlite"))
        let events = (0..<4_000).map { index in
            event(
                .impression, "e\(index)", user: "u\(index % 300)", item: "i\(index)", request: "r\(index)",
                at: Int64(index) * 100, source: "hot"
            ).jsonBytes()
        }
        try log.append(events.map { LogEntry(key: nil, payload: $0) })
        var configuration = ProcessorConfiguration(
            storePath: directory + "-store.sqlite", samplesDirectory: directory + "-samples")
        configuration.batchSize = 100
        let processor = try FeedbackProcessor(log: log, configuration: configuration)
        func logBytes() throws -> Int {
            try #require(FileManager.default.attributesOfItem(atPath: directory + "-store.sqlite-wal")[.size] as? Int)
        }
        var processed = try processor.processBatch().processed
        processor.runner.checkpointer.wait()
        let afterOneBatch = try logBytes()
        while processed < events.count {
            processed += try processor.processBatch().processed
            processor.runner.checkpointer.wait()
        }
        #expect(processed == events.count)
        // 40 batches: without checkpoints the log would hold them all (each rewrites ~300 profiles).
        let afterAll = try logBytes()
        #expect(afterAll <= 3 * afterOneBatch, "log \(afterAll) bytes, \(afterOneBatch) after one batch")
    }

    @Test func eventIDHashesAreStable() {
        #expect(EventIDHash.of("") == Int64(bitPattern: 0xefd0_1f60_ba99_2926))
        #expect(EventIDHash.of("evt_1") == Int64(bitPattern: 0xed4c_231e_1e27_814e))
        #expect(EventIDHash.of("01a219c7-4851-702c-87ee-ff7f91d509fa") == Int64(bitPattern: 0xac46_9d6e_6d80_663c))
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
