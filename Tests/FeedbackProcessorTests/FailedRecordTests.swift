import Feedback
import FeedbackLog
import Foundation
import TestSupport
import Testing

@testable import FeedbackProcessor
@testable import FeedbackWire

/// Records that are not events are kept with their reasons, processing goes on, and the ledger adds up:
/// every record read is exactly one of processed, duplicate or failed.
@Suite struct FailedRecordTests {
    static let t0: Int64 = 1_704_067_200_000  // 2024-01-01T00:00:00Z

    func impression(_ id: String, item: String, at time: Int64) -> [UInt8] {
        FeedbackEvent(
            type: .impression, itemID: item, userID: "u1", scene: "feed", requestID: "r-\(id)", eventID: id,
            timestampMs: Self.t0 + time, labels: ["recall_source": "hot"]
        ).jsonBytes()
    }

    @Test func refusedRecordsAreKeptWithTheirReasonsAndTheRestIsProcessed() throws {
        let directory = temporaryPath("failed")
        let log = try LocalLog(configuration: .init(path: directory + "-log.sqlite"))
        let nested = String(repeating: "[", count: 200_000)
        let hostile: [String] = [
            #"{"item_id":"A","type":"click","user_id":"u1","timestamp_ms":"soon"}"#,
            #"{"item_id":"A","type":"click","user_id":"u1","timestamp_ms":1704067200000,"extras":{"x":\#(nested)}}"#,
            #"{"item_id":"A","type":"click","user_id":"alice\u0000x","timestamp_ms":1704067200000}"#,
            #"{"item_id":"A","type":"conversion","user_id":"u1","timestamp_ms":1704067200000,"extras":{"amount":1e308}}"#,
            "not json",
        ]
        var payloads = [impression("i1", item: "A", at: 0), impression("i2", item: "B", at: 1000)]
        payloads += hostile.map { Array($0.utf8) }
        payloads.append(impression("i1", item: "A", at: 0))  // a duplicate
        try log.append(payloads.map { LogEntry(key: nil, payload: $0) })
        let processor = try FeedbackProcessor(
            log: log,
            configuration: ProcessorConfiguration(
                storePath: directory + "-store.sqlite", samplesDirectory: directory + "-samples"))
        let statistics = try processor.processAvailable()
        #expect(statistics.processed == 2 && statistics.duplicates == 1 && statistics.failed == 5, "\(statistics)")
        #expect(statistics.processed + statistics.duplicates + statistics.failed == payloads.count)

        let failed = try processor.failedRecords()
        #expect(failed.map(\.offset) == [3, 4, 5, 6, 7])
        #expect(failed.map(\.kind) == ["wrong_type", "over_limit", "over_limit", "over_limit", "not_json"])
        #expect(failed[0].reason == "not a feedback event: timestamp_ms must be a number")
        #expect(failed[2].reason.contains("user_id holds a NUL"))
        #expect(failed.allSatisfy { $0.source == "local-log" && $0.partition == 0 })
        #expect(failed[0].payload == payloads[2] && failed[0].isWhole)
        // alice's profile was never touched by "alice\0x".
        #expect(try processor.profile(user: "alice") == nil)
        #expect(try processor.failedCount() == 5)

        // A restart reads nothing again and keeps nothing twice; forgetting one leaves the others.
        let again = try FeedbackProcessor(
            log: log,
            configuration: ProcessorConfiguration(
                storePath: directory + "-store.sqlite", samplesDirectory: directory + "-samples"))
        let rerun = try again.processAvailable()
        #expect(rerun.processed + rerun.duplicates + rerun.failed == 0, "\(rerun)")
        #expect(try again.forgetFailed([(0, 3)]) == 1 && again.failedCount() == 4)
    }

    /// An event from a clock far ahead is refused (kept among the failed records), so it cannot move the
    /// watermark: the impressions' windows stay open.
    @Test func anEventFarAheadOfItsArrivalIsRefusedAndTheWatermarkStays() throws {
        let directory = temporaryPath("future")
        let log = try LocalLog(configuration: .init(path: directory + "-log.sqlite"))
        let now = Int64(Date().timeIntervalSince1970 * 1000)
        let shown = FeedbackEvent(
            type: .impression, itemID: "A", userID: "u1", requestID: "r1", eventID: "i1", timestampMs: now - 60_000)
        let ahead = FeedbackEvent(
            type: .impression, itemID: "B", userID: "u2", requestID: "r2", eventID: "i2",
            timestampMs: now + 86_400_000)
        let soonEnough = FeedbackEvent(
            type: .impression, itemID: "C", userID: "u3", requestID: "r3", eventID: "i3", timestampMs: now + 60_000)
        try log.append([shown, ahead, soonEnough].map { LogEntry(key: nil, payload: $0.jsonBytes()) })
        let processor = try FeedbackProcessor(
            log: log,
            configuration: ProcessorConfiguration(
                storePath: directory + "-store.sqlite", samplesDirectory: directory + "-samples"))
        let statistics = try processor.processAvailable()
        #expect(statistics.processed == 2 && statistics.failed == 1 && statistics.samples == 0, "\(statistics)")
        let failed = try #require(try processor.failedRecords().first)
        #expect(failed.offset == 2 && failed.kind == "from_the_future")
        #expect(failed.reason.contains("minutes after the record arrived (at most 180)"), "\(failed.reason)")
    }

    /// A sink that refuses one profile for good, writing the others.
    final class RefusingSink: ProfileSink, @unchecked Sendable {  // used by one processor thread at a time
        var written: [String] = []
        func write(_ profiles: [UserProfile]) throws {
            written += profiles.map(\.user).filter { $0 != "u2" }
            if let index = profiles.firstIndex(where: { $0.user == "u2" }) {
                throw SinkRefusal(sink: "test", items: [.init(index: index, reason: "u2 is a key of another type")])
            }
        }
    }

    /// An item a sink refuses for good is kept among the failed records and the batch commits: the rest is
    /// processed once, nothing is read again.
    @Test func anItemASinkRefusesIsKeptAndTheBatchCommits() throws {
        let directory = temporaryPath("refused")
        let log = try LocalLog(configuration: .init(path: directory + "-log.sqlite"))
        let events = (1...3).map { index in
            FeedbackEvent(
                type: .click, itemID: "A", userID: "u\(index)", eventID: "c\(index)",
                timestampMs: Self.t0 + Int64(index))
        }
        try log.append(events.map { LogEntry(key: nil, payload: $0.jsonBytes()) })
        let sink = RefusingSink()
        let configuration = ProcessorConfiguration(
            storePath: directory + "-store.sqlite", samplesDirectory: directory + "-samples")
        let processor = try FeedbackProcessor(log: log, configuration: configuration, profileSinks: [sink])
        let statistics = try processor.processAvailable()
        #expect(statistics.processed == 3 && statistics.failed == 0, "\(statistics)")
        #expect(sink.written == ["u1", "u3"])
        let refused = try processor.failedRecords()
        #expect(refused.count == 1)
        #expect(refused.first?.source == "sink:test" && refused.first?.partition == -1)
        #expect(refused.first?.kind == "sink_refused" && refused.first?.reason == "u2 is a key of another type")
        let profile = try JSONDecoder().decode(UserProfile.self, from: Data(refused.first?.payload ?? []))
        #expect(profile.user == "u2" && profile.counts["click"] == 1)
        #expect(try processor.processAvailable().processed == 0)
    }

    /// Thousands of impressions of one item in one request (a client's loop) would make every join of that
    /// pair scan them all: past the limit they are refused and kept, the rest is processed as usual.
    @Test func aPairRepeatedPastTheLimitIsRefusedNotQuadratic() throws {
        let directory = temporaryPath("repeats")
        let log = try LocalLog(configuration: .init(path: directory + "-log.sqlite"))
        let limit = EventWireFormat.Limits.maxRepeatsPerPair
        var events = (0..<(limit + 50)).map { index in
            FeedbackEvent(
                type: .impression, itemID: "A", userID: "u1", requestID: "r1", eventID: "i\(index)",
                timestampMs: Self.t0 + Int64(index))
        }
        events += (0..<(limit + 10)).map { index in
            FeedbackEvent(
                type: .click, itemID: "A", userID: "u1", requestID: "r1", eventID: "c\(index)",
                timestampMs: Self.t0 + 5_000)
        }
        events.append(
            FeedbackEvent(
                type: .impression, itemID: "B", userID: "u1", requestID: "r1", eventID: "other", timestampMs: Self.t0))
        try log.append(events.map { LogEntry(key: nil, payload: $0.jsonBytes()) })
        let processor = try FeedbackProcessor(
            log: log,
            configuration: ProcessorConfiguration(
                storePath: directory + "-store.sqlite", samplesDirectory: directory + "-samples"))
        let statistics = try processor.processAvailable()
        #expect(statistics.processed == 2 * limit + 1 && statistics.failed == 60, "\(statistics)")
        let failed = try processor.failedRecords(limit: 100)
        #expect(failed.allSatisfy { $0.kind == "over_limit" })
        #expect(failed.first?.reason.contains("more than \(limit) impressions of item A in request r1") == true)
        #expect(
            failed.last?.reason.contains("more than \(limit) clicks and conversions on item A of request r1") == true)
        #expect(try processor.closeAllWindows() == limit + 1)
    }
}
