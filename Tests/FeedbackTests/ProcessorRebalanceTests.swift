import Feedback
import FeedbackLog
import Foundation
import Testing

@testable import FeedbackProcessor

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
}
