import Feedback
import Foundation
import Testing

@testable import FastCollections
@testable import FeedbackProcessor
@testable import FeedbackWire
@testable import SQLiteStore

/// A batch ends when its source has nothing more — but a consumer catching up gets records in bursts (one
/// fetch at a time), and a poll between two bursts finds nothing ready. `batchLinger` lets the batch wait
/// for the next burst instead of ending (each end costs a commit and the state's writes).
/// (A scripted source: a real consumer's bursts cannot be timed by a test.)
@Suite struct ProcessorLingerTests {
    /// Bursts of records: a poll takes what is left of the current burst; once it is used up, a poll that
    /// does not wait finds nothing, one that waits gets the next burst (it "arrives" meanwhile).
    final class BurstSource: FeedbackSource {
        var bursts: [[SourceRecord]]
        var waits: [Duration] = []

        init(bursts: Int, perBurst: Int) {
            self.bursts = (0..<bursts).map { burst in
                (0..<perBurst).map { index in
                    let offset = burst * perBurst + index
                    let event = FeedbackEvent(
                        type: .impression, itemID: "item_\(offset)", userID: "user_1", scene: "feed",
                        requestID: "req_\(offset)", eventID: "evt_\(offset)",
                        timestampMs: 1_704_067_200_000 + Int64(offset) * 1000, labels: ["recall_source": "hot"])
                    return SourceRecord(partition: 0, offset: Int64(offset), payload: event.jsonBytes())
                }
            }
        }

        var name: String { "bursts" }
        var assignment: [Int32] { [0] }
        var current: [SourceRecord] = []
        func start(after applied: [Int32: Int64]) throws {}

        func poll(max: Int, timeout: Duration) throws -> [SourceRecord] {
            if current.isEmpty, timeout > .zero, !bursts.isEmpty {
                waits.append(timeout)
                current = bursts.removeFirst()
            }
            let taken = Array(current.prefix(max))
            current.removeFirst(taken.count)
            return taken
        }

        func commit(_ records: [SourceRecord]) throws {}
        func rewind(_ records: [SourceRecord]) throws {}
    }

    func processor(linger: Duration, source: BurstSource) throws -> FeedbackProcessor {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("linger-\(UUID())").path
        var configuration = ProcessorConfiguration(
            storePath: directory + "/store.sqlite", samplesDirectory: directory + "/samples")
        configuration.pollSize = 4
        configuration.batchLinger = linger
        return try FeedbackProcessor(source: source, configuration: configuration)
    }

    @Test func aBatchWaitsForTheNextBurstWithinTheLinger() throws {
        let source = BurstSource(bursts: 3, perBurst: 6)
        let processor = try processor(linger: .milliseconds(20), source: source)
        // The first poll waits for the first burst (the caller's timeout); every later gap, the linger.
        #expect(try processor.processBatch(timeout: .seconds(1)).processed == 18)
        #expect(source.waits == [.seconds(1), .milliseconds(20), .milliseconds(20)])
        #expect(try processor.processBatch(timeout: .milliseconds(1)).processed == 0)
        #expect(try processor.profile(user: "user_1")?.counts["impression"] == 18)
    }

    @Test func withoutALingerABatchEndsAtTheFirstGap() throws {
        let source = BurstSource(bursts: 3, perBurst: 6)
        let processor = try processor(linger: .zero, source: source)
        var batches: [Int] = []
        while true {
            let processed = try processor.processBatch(timeout: .seconds(1)).processed
            if processed == 0 { break }
            batches.append(processed)
        }
        #expect(batches == [6, 6, 6])
        #expect(try processor.profile(user: "user_1")?.counts["impression"] == 18)
    }

    @Test func aLingerOutsideZeroToAMinuteIsRefused() {
        for linger in [Duration.milliseconds(-1), .seconds(61)] {
            #expect {
                _ = try processor(linger: linger, source: BurstSource(bursts: 1, perBurst: 1))
            } throws: { error in
                guard case ProcessorError.configuration(let message) = error else { return false }
                return message.contains("batchLinger is") && message.contains("use 0 to 60 seconds")
            }
        }
    }
}
