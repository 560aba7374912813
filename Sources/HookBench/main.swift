// feedback-hook-bench: what FeedbackHook costs the recommend path for a 100-item response.
// Prints one JSON line {"p50_us","p99_us","p999_us","allocs_per_event"}. Run by `feedback-bench`.
import Feedback
import FeedbackLog
import FeedbackProcessor
import Foundation
import Logging
import MallocInterposerSwift
import Pipeline
import Synchronization
import SyntheticFeedback

/// Accepts and forgets events (timing phase), or refuses them (allocation phase: the sender then waits
/// and allocates nothing, so the counter sees the caller alone).
final class NullTransport: FeedbackTransport {
    let accepting: Bool
    let tracker = Mutex<DeliveryTracker?>(nil)
    init(accepting: Bool) { self.accepting = accepting }
    var name: String { "null" }
    func start(tracker: DeliveryTracker) { self.tracker.withLock { $0 = tracker } }
    func send(key: UnsafeRawBufferPointer?, payload: UnsafeRawBufferPointer, token: UInt) -> TransportSendResult {
        guard accepting else { return .busy }
        tracker.withLock { $0 }?.delivered(count: 1)
        return .accepted
    }
    func flush(timeout: Duration) -> Bool { true }
    func close() {}
}

// `feedback-hook-bench encode N`: nanoseconds per event of JSON encoding alone (the sender's share).
if CommandLine.arguments.dropFirst().first == "encode" {
    let count = Int(CommandLine.arguments.dropFirst(2).first ?? "") ?? 1_000_000
    let events: [FeedbackEvent] = (0..<1000).map { (index: Int) -> FeedbackEvent in
        let conversion = index % 10 == 8
        var event = FeedbackEvent(
            type: conversion ? .conversion : .impression, itemID: "item_\(index * 7919 % 100_000)")
        event.userID = "user_\(index)"
        event.deviceID = "device_\(index)"
        event.scene = "feed"
        event.requestID = "req_\(index / 10)"
        event.eventID = "evt_\(index)"
        event.timestampMs = 1_704_067_200_000 + Int64(index)
        event.position = index % 10
        event.score = Double(index % 1000) / 1000
        event.labels = ["recall_source": "hot", "recall_type": "hot"]
        if conversion { event.extras = ["amount": 99.0, "order_id": .string("order_\(index)")] }
        return event
    }
    let encoder = FeedbackEncoder()
    var bytes = 0
    let start = DispatchTime.now().uptimeNanoseconds
    for index in 0..<count { bytes &+= encoder.encode(events[index % events.count]) }
    let nanos = Double(DispatchTime.now().uptimeNanoseconds - start) / Double(count)
    print(#"{"encode_ns_per_event":\#(nanos),"bytes_per_event":\#(bytes / count)}"#)
    exit(0)
}

// `feedback-hook-bench decode N`: nanoseconds per event of the processor's event reader alone, over
// seed-format events as `feedback-bench` publishes them, in polls of 10,000.
if CommandLine.arguments.dropFirst().first == "decode" {
    let count = Int(CommandLine.arguments.dropFirst(2).first ?? "") ?? 1_000_000
    let poll = (0..<10_000).map {
        SourceRecord(partition: 0, offset: Int64($0), payload: SyntheticEvents.event($0).jsonBytes())
    }
    var decoded = 0
    let start = DispatchTime.now().uptimeNanoseconds
    for _ in 0..<max(1, count / poll.count) { decoded += PollDecoding.eventCount(poll) }
    let nanos = Double(DispatchTime.now().uptimeNanoseconds - start) / Double(decoded)
    print(#"{"decode_ns_per_event":\#(nanos),"events":\#(decoded)}"#)
    exit(0)
}

// `feedback-hook-bench process LOG DIRECTORY`: the processor over an embedded local log, from its start,
// into a new store and samples under DIRECTORY, on a plain thread (callgrind cannot run the async `feedback
// process`): for counting the processor's instructions per event, all threads together.
// `feedback-hook-bench process BROKER TOPIC DIRECTORY`: the same over a Kafka topic, read whole by a group
// of its own (joined before the first batch, as `feedback-bench` does), until it is idle for 2 s.
if CommandLine.arguments.dropFirst().first == "process", [4, 5].contains(CommandLine.arguments.count) {
    let directory = CommandLine.arguments.last!
    var configuration = ProcessorConfiguration(
        storePath: directory + "/processor.sqlite", samplesDirectory: directory + "/samples")
    configuration.attributionWindow = .seconds(60)
    let processor: FeedbackProcessor
    if CommandLine.arguments.count == 5 {
        let source = try KafkaSource(
            brokers: [CommandLine.arguments[2]], topic: CommandLine.arguments[3],
            group: "hook-bench-\(UUID().uuidString.prefix(6))")
        guard try source.join(timeout: .seconds(60)) else { fatalError("no partitions assigned within 60 s") }
        processor = try FeedbackProcessor(source: source, configuration: configuration)
    } else {
        processor = try FeedbackProcessor(
            log: LocalLog(configuration: .init(path: CommandLine.arguments[2])), configuration: configuration)
    }
    let statistics = try processor.processAvailable(idle: .seconds(2))
    print(#"{"processed":\#(statistics.processed),"samples":\#(statistics.samples)}"#)
    exit(0)
}

// `feedback-hook-bench sender N`: the collector's own cost per recorded event, no Kafka: N seed-format
// events (as `feedback-bench` builds them) recorded into a collector whose transport takes each batch at
// once. Prints CPU (all threads) and wall nanoseconds per event: the share of `feedback-bench`'s figures
// that is ours — encoding, the hand-off, freeing the events — not librdkafka's.
if CommandLine.arguments.dropFirst().first == "sender" {
    final class BatchSink: FeedbackTransport {
        let tracker = Mutex<DeliveryTracker?>(nil)
        var name: String { "sink" }
        func start(tracker: DeliveryTracker) { self.tracker.withLock { $0 = tracker } }
        func send(key: UnsafeRawBufferPointer?, payload: UnsafeRawBufferPointer, token: UInt) -> TransportSendResult {
            tracker.withLock { $0 }?.delivered(count: 1)
            return .accepted
        }
        func send(_ batch: OutgoingBatch, from start: Int, rejected: (Int, String) -> Void) -> Int {
            tracker.withLock { $0 }?.delivered(count: batch.count - start)
            return batch.count
        }
        func flush(timeout: Duration) -> Bool { true }
        func close() {}
    }
    let count = Int(CommandLine.arguments.dropFirst(2).first ?? "") ?? 1_000_000
    let sources = ["hot", "ann", "personal", "fresh"]
    let types: [FeedbackEventType] = [
        .impression, .impression, .impression, .impression, .impression, .impression, .click, .click, .conversion,
        .skip,
    ]
    let scenes = ["feed", "detail", "search"]
    func event(_ index: Int) -> FeedbackEvent {
        let source = sources[index % 4]
        let extras: [String: AttributeValue] =
            index % 10 == 8 ? ["amount": .double(99.0), "order_id": .string("order_\(index)")] : [:]
        return FeedbackEvent(
            type: types[index % 10], itemID: "item_\((index &* 7919) % 100_000)", userID: "user_\(index % 10_000)",
            deviceID: "device_\(index % 10_000)", scene: scenes[index % 3], requestID: "req_\(index / 10)",
            eventID: "evt_\(index)", timestampMs: 1_704_067_200_000 + Int64(index), position: index % 10,
            score: Double(index % 1000) / 1000, labels: ["recall_source": source, "recall_type": source],
            extras: extras)
    }
    var prepared = (0..<count).reversed().map(event)
    let collector = try FeedbackCollector(transport: BatchSink(), configuration: .init(capacity: 200_000))
    func cpuSeconds() -> Double {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec)
            + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6
    }
    let cpuStart = cpuSeconds()
    let start = DispatchTime.now().uptimeNanoseconds
    var index = 0
    while let event = prepared.popLast() {
        if index & 1023 == 0 { while collector.bufferedEvents > 100_000 { usleep(1000) } }
        try? collector.record(event)
        index += 1
    }
    _ = await collector.flush(timeout: .seconds(60))
    let wall = Double(DispatchTime.now().uptimeNanoseconds - start) / Double(count)
    let cpu = (cpuSeconds() - cpuStart) * 1e9 / Double(count)
    print(#"{"cpu_ns_per_event":\#(Int(cpu)),"wall_ns_per_event":\#(Int(wall))}"#)
    exit(0)
}

let items = (0..<100).map { index in
    Item(
        id: "item_\(index)", score: 1 - Double(index) / 100,
        labels: [
            "recall_source": Label(value: index % 3 == 0 ? "hot|ann" : "personal", source: "recall.merge"),
            "recall_type": Label(value: "hot", source: "recall.hot"),
        ])
}
let contexts = (0..<64).map { RecommendContext(userID: "user_\($0)", deviceID: "device_\($0)", scene: "feed") }

// `feedback-hook-bench encode-impressions N`: nanoseconds per impression through a `FeedbackEvent` (what
// the sender did before) and written straight from the item (what it does now).
if CommandLine.arguments.dropFirst().first == "encode-impressions" {
    let count = Int(CommandLine.arguments.dropFirst(2).first ?? "") ?? 1_000_000
    let encoder = FeedbackEncoder()
    func timed(_ body: (Int) -> Int) -> Double {
        let start = DispatchTime.now().uptimeNanoseconds
        var bytes = 0
        for index in 0..<count { bytes &+= body(index) }
        precondition(bytes > 0)
        return Double(DispatchTime.now().uptimeNanoseconds - start) / Double(count)
    }
    let viaEvent = timed { index in
        encoder.encode(
            .impression(
                of: items[index % 100], at: index % 100, context: contexts[index % 64], timestampMs: 1_704_067_200_000))
    }
    let direct = timed { index in
        encoder.encodeImpression(
            of: items[index % 100], at: index % 100, context: contexts[index % 64], timestampMs: 1_704_067_200_000)
    }
    print(#"{"via_event_ns_per_impression":\#(viaEvent),"direct_ns_per_impression":\#(direct)}"#)
    exit(0)
}

let calls = Int(CommandLine.arguments.dropFirst().first ?? "") ?? 20_000

/// Calls the hook `calls` times from a task on the global executor — where a service's pipeline runs — so
/// that no actor hop is measured, and returns each call's nanoseconds, sorted.
func measure(_ hook: FeedbackHook, calls: Int) async -> [UInt64] {
    var nanos: [UInt64] = []
    nanos.reserveCapacity(calls)
    for call in 0..<calls {
        let context = contexts[call % contexts.count]
        let start = DispatchTime.now().uptimeNanoseconds
        await hook.runDidFinish(context, items: items, error: nil)
        nanos.append(DispatchTime.now().uptimeNanoseconds - start)
        if call % 1000 == 999 { while hook.collector.bufferedEvents > 500_000 { usleep(100) } }
    }
    return nanos.sorted()
}

// Timing: the real sender running beside the caller, as in a service.
let timed = try FeedbackCollector(transport: NullTransport(accepting: true), configuration: .init(capacity: 1_000_000))
let timedHook = FeedbackHook(collector: timed)
let sorted = await Task.detached { await measure(timedHook, calls: calls) }.value
await timed.shutdown()
@Sendable func percentile(_ p: Double) -> Double {
    Double(sorted[min(sorted.count - 1, Int(Double(sorted.count) * p))]) / 1000
}

// Allocations on the caller's side: the sender is held, so every counted malloc is the caller's.
let allocationCalls = min(calls, 5_000)
var quiet = Logger(label: "hook-bench")
quiet.logLevel = .critical  // the held events are dropped at the end on purpose
let held = try FeedbackCollector(
    transport: NullTransport(accepting: false),
    configuration: .init(capacity: allocationCalls * 100 + 100, logger: quiet))
let heldHook = FeedbackHook(collector: held)
await heldHook.runDidFinish(contexts[0], items: items, error: nil)  // warm up
usleep(10_000)
let mallocs = await Task.detached {
    MallocInterposerSwift.initialize()
    MallocInterposerSwift.hook()
    for call in 0..<allocationCalls {
        await heldHook.runDidFinish(contexts[call % contexts.count], items: items, error: nil)
    }
    MallocInterposerSwift.unhook()
    return MallocInterposerSwift.getStatistics().mallocCount
}.value
_ = await held.shutdown(timeout: .milliseconds(10))

print(
    #"{"p50_us":\#(percentile(0.5)),"p99_us":\#(percentile(0.99)),"p999_us":\#(percentile(0.999)),"allocs_per_event":\#(Double(mallocs) / Double(allocationCalls * 100)),"calls":\#(calls)}"#
)
