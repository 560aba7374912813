import Feedback
import Foundation
import TestSupport
import Testing

@testable import FeedbackProcessor

/// An assigned partition that never delivers a record must not hold every window open for ever: after the
/// idle timeout it stops holding the watermark back.
@Suite struct PartitionIdlenessTests {
    /// Partition 0 gets `records`, partition 1 (assigned too) nothing.
    final class OnePartitionBusySource: FeedbackSource {
        var pending: [SourceRecord]
        let assignment: [Int32] = [0, 1]
        init(_ events: [FeedbackEvent]) {
            pending = events.enumerated().map { SourceRecord(partition: 0, offset: Int64($0), payload: $1.jsonBytes()) }
        }
        var name: String { "busy-and-idle" }
        func start(after applied: [Int32: Int64]) throws {}
        func poll(max: Int, timeout: Duration) throws -> [SourceRecord] {
            let taken = Array(pending.prefix(max))
            pending.removeFirst(taken.count)
            return taken
        }
        func commit(_ records: [SourceRecord]) throws {}
        func rewind(_ records: [SourceRecord]) throws {}
    }

    static let t0: Int64 = 1_704_067_200_000

    /// Impressions at 0..9 s, then one event two windows later: enough to close every window, if the empty
    /// partition does not hold the watermark.
    func events() -> [FeedbackEvent] {
        (0..<10).map { index in
            FeedbackEvent(
                type: .impression, itemID: "item_\(index)", userID: "u", requestID: "r\(index)", eventID: "i\(index)",
                timestampMs: Self.t0 + Int64(index) * 1000)
        } + [FeedbackEvent(type: .click, itemID: "x", userID: "u", eventID: "late", timestampMs: Self.t0 + 130_000)]
    }

    func samples(idleTimeout: Duration?, wait: Duration) throws -> Int {
        let directory = temporaryPath("idle")
        var configuration = ProcessorConfiguration(
            storePath: directory + "-store.sqlite", samplesDirectory: directory + "-samples")
        configuration.attributionWindow = .seconds(60)
        configuration.partitionIdleTimeout = idleTimeout
        let source = OnePartitionBusySource(events())
        let processor = try FeedbackProcessor(source: source, configuration: configuration)
        var statistics = try processor.processBatch(timeout: .milliseconds(10))
        Thread.sleep(forTimeInterval: Double(wait.components.seconds) + Double(wait.components.attoseconds) / 1e18)
        // Windows close as records arrive (as in Flink, a watermark moves with events, not with the clock).
        let next = FeedbackEvent(
            type: .click, itemID: "y", userID: "u", eventID: "next", timestampMs: Self.t0 + 131_000)
        source.pending.append(SourceRecord(partition: 0, offset: 11, payload: next.jsonBytes()))
        statistics.add(try processor.processBatch(timeout: .milliseconds(10)))
        #expect(statistics.processed == 12)
        return statistics.samples
    }

    @Test func anEmptyPartitionHoldsWindowsOpenOnlyUntilItIsIdle() throws {
        // Never idle: partition 1 has no event time, so no window closes.
        #expect(try samples(idleTimeout: nil, wait: .zero) == 0)
        // Not idle yet (60 s): still nothing closes.
        #expect(try samples(idleTimeout: .seconds(60), wait: .zero) == 0)
        // Idle after 50 ms: the next batch closes every impression's window.
        #expect(try samples(idleTimeout: .milliseconds(50), wait: .milliseconds(120)) == 10)
    }

    @Test func theWatermarkSkipsIdlePartitionsAndHoldsWhenAllAreIdle() {
        var clock = PartitionClock(newest: [0: 5_000], assigned: [0, 1])
        #expect(!clock.hasWatermark)
        clock.idle = [1]
        #expect(clock.watermark == 5_000)
        clock.idle = [0, 1]
        #expect(clock.watermark == 5_000)
        clock.idle = [0]
        #expect(!clock.hasWatermark)
    }
}
