import Feedback
import FeedbackLog
import Foundation
import Testing

@testable import FastCollections
@testable import FeedbackProcessor
@testable import FeedbackWire
@testable import SQLiteStore

/// A batch spans several polls; a rebalance between two of them must roll it back: the records of a
/// partition taken away belong to its new owner, which starts from the committed offsets.
/// (A scripted source: a consumer group cannot be made to rebalance between two given polls.)
@Suite struct ProcessorRebalanceTests {
    /// Two partitions of impressions; partition 1 is taken away after the `revokeAfterPolls`-th poll.
    final class ScriptedSource: FeedbackSource {
        var records: [Int32: [SourceRecord]]
        var position: [Int32: Int] = [0: 0, 1: 0]
        var assignment: [Int32] = [0, 1]
        var polls = 0
        let revokeAfterPolls: Int
        var rewound: [[Int32: Int64]] = []

        init(perPartition: Int, revokeAfterPolls: Int) {
            self.revokeAfterPolls = revokeAfterPolls
            records = [:]
            for partition in [Int32(0), 1] {
                records[partition] = (0..<perPartition).map { index in
                    let event = FeedbackEvent(
                        type: .impression, itemID: "item_\(index)", userID: "user_\(partition)", scene: "feed",
                        requestID: "req_\(partition)_\(index)", eventID: "evt_\(partition)_\(index)",
                        timestampMs: 1_704_067_200_000 + Int64(index) * 1000, labels: ["recall_source": "hot"])
                    return SourceRecord(partition: partition, offset: Int64(index), payload: event.jsonBytes())
                }
            }
        }

        var name: String { "scripted" }
        func start(after applied: [Int32: Int64]) throws {}

        /// A record of each assigned partition in turn, up to `max`.
        func poll(max: Int, timeout: Duration) throws -> [SourceRecord] {
            polls += 1
            if polls == revokeAfterPolls + 1 { assignment = [0] }
            var batch: [SourceRecord] = []
            while batch.count < max {
                let before = batch.count
                for partition in assignment where position[partition]! < records[partition]!.count {
                    batch.append(records[partition]![position[partition]!])
                    position[partition]! += 1
                    if batch.count == max { break }
                }
                if batch.count == before { break }
            }
            return batch
        }

        func commit(_ records: [SourceRecord]) throws {}

        func rewind(_ records: [SourceRecord]) throws {
            var first: [Int32: Int64] = [:]
            for record in records { first[record.partition] = min(first[record.partition] ?? .max, record.offset) }
            rewound.append(first)
            for (partition, offset) in first { position[partition] = Int(offset) }
        }
    }

    @Test func aRebalanceMidBatchRollsItBackAndKeepsOnlyThePartitionsStillAssigned() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("rebalance-\(UUID())").path
        var configuration = ProcessorConfiguration(
            storePath: directory + "/store.sqlite", samplesDirectory: directory + "/samples")
        configuration.pollSize = 4
        configuration.batchSize = 1000
        let source = ScriptedSource(perPartition: 10, revokeAfterPolls: 2)
        let processor = try FeedbackProcessor(source: source, configuration: configuration)
        let statistics = try processor.processAvailable()
        // The first batch (polls 1-2 read both partitions, poll 3 finds partition 1 gone) was rolled back and
        // partition 0 read again from its start; nothing of partition 1 was kept.
        #expect(source.rewound == [[0: 0]])
        #expect(statistics.processed == 10 && statistics.duplicates == 0, "\(statistics)")
        #expect(try processor.appliedOffsets() == [0: 9])
        #expect(try processor.profile(user: "user_1") == nil)
        #expect(try processor.profile(user: "user_0")?.counts["impression"] == 10)
        #expect(try processor.metrics(limit: 100).reduce(0) { $0 + $1.impressions } == 10)
    }

    /// Partition 0's records, then partition 1's: a poll reads partition 1 only once partition 0 is done.
    final class PartitionsInTurnSource: FeedbackSource {
        let scripted: ScriptedSource
        var rewound: [[Int32: Int64]] { scripted.rewound }

        init(perPartition: Int) { scripted = ScriptedSource(perPartition: perPartition, revokeAfterPolls: .max) }

        var name: String { "in-turn" }
        var assignment: [Int32] { [0, 1] }
        func start(after applied: [Int32: Int64]) throws {}

        func poll(max: Int, timeout: Duration) throws -> [SourceRecord] {
            var batch: [SourceRecord] = []
            for partition in [Int32(0), 1] {
                while batch.count < max, scripted.position[partition]! < scripted.records[partition]!.count {
                    batch.append(scripted.records[partition]![scripted.position[partition]!])
                    scripted.position[partition]! += 1
                }
            }
            return batch
        }

        func commit(_ records: [SourceRecord]) throws {}
        func rewind(_ records: [SourceRecord]) throws { try scripted.rewind(records) }
    }

    /// A sink that fails its first write.
    final class FailingFirstSink: ProfileSink {
        var writes = 0
        func write(_ profiles: [UserProfile]) throws {
            writes += 1
            if writes == 1 { throw ProcessorError.storage("the sink is down") }
        }
    }

    /// A full batch reads the next batch's first poll while it ends; when the batch then fails, that poll
    /// is read again too — here it holds the only records of partition 1, which the failed batch never
    /// touched, so rewinding the batch's own partitions would have skipped them.
    @Test func aFailedBatchRewindsThePollReadAheadForTheNextBatch() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("read-ahead-\(UUID())").path
        var configuration = ProcessorConfiguration(
            storePath: directory + "/store.sqlite", samplesDirectory: directory + "/samples")
        configuration.pollSize = 2
        configuration.batchSize = 2
        let source = PartitionsInTurnSource(perPartition: 2)
        let processor = try FeedbackProcessor(
            source: source, configuration: configuration, profileSinks: [FailingFirstSink()])
        #expect(throws: (any Error).self) { try processor.processBatch() }
        #expect(source.rewound.count == 1 && source.rewound.first?[1] == 0, "\(source.rewound)")
        let statistics = try processor.processAvailable()
        #expect(statistics.processed == 4 && statistics.duplicates == 0, "\(statistics)")
        #expect(try processor.profile(user: "user_1")?.counts["impression"] == 2)
        #expect(try processor.profile(user: "user_0")?.counts["impression"] == 2)
    }
}
