import CoreMetrics
import Feedback
import FeedbackKafka
import Foundation
import Synchronization
import SyntheticFeedback

/// Record → acknowledged latency at a steady rate, from the collector's own latency metric.
public struct LatencyBenchmark: Sendable {
    public let rate: Double
    public let seconds: Double
    public let lingerMs: Int

    public init(rate: Double, seconds: Double, lingerMs: Int = 5) {
        self.rate = rate
        self.seconds = seconds
        self.lingerMs = lingerMs
    }

    public func run(broker: String, topic: String, samples: LatencySamples) async throws -> BenchReport.Latency {
        var configuration = KafkaConfiguration(brokers: [broker], topic: topic)
        configuration.flushInterval = .milliseconds(lingerMs)
        let collector = try FeedbackCollector.kafka(configuration)
        let count = Int(rate * seconds)
        let start = ContinuousClock.now
        samples.reset()
        samples.recording.store(true, ordering: .releasing)
        defer { samples.recording.store(false, ordering: .releasing) }
        for index in 0..<count {
            let due = start + .nanoseconds(Int64(Double(index) / rate * 1e9))
            if due > ContinuousClock.now { try await Task.sleep(until: due, clock: .continuous) }
            try collector.record(SyntheticEvents.event(index))
        }
        await collector.shutdown()
        let values = samples.sorted()
        guard !values.isEmpty else { throw ProcessFailure(description: "latency: no samples were recorded") }
        func percentile(_ p: Double) -> Double {
            Double(values[min(values.count - 1, Int(Double(values.count) * p))]) / 1e6
        }
        return .init(rate: rate, p50Ms: percentile(0.5), p99Ms: percentile(0.99), samples: values.count)
    }
}

/// A swift-metrics backend that keeps the delivery-latency timer's values (and ignores everything else),
/// bootstrapped by `feedback-bench`.
public final class LatencySamples: MetricsFactory, Sendable {
    private let values = Mutex<[Int64]>([])
    /// Only the latency benchmark's deliveries are kept (not the throughput runs' millions).
    let recording = Atomic<Bool>(false)
    public init() {}

    func reset() { values.withLock { $0.removeAll(keepingCapacity: true) } }
    func sorted() -> [Int64] { values.withLock { $0.sorted() } }

    public func makeCounter(label: String, dimensions: [(String, String)]) -> any CounterHandler {
        NOOPMetricsHandler.instance
    }
    public func makeFloatingPointCounter(label: String, dimensions: [(String, String)])
        -> any FloatingPointCounterHandler
    {
        NOOPMetricsHandler.instance
    }
    public func makeRecorder(label: String, dimensions: [(String, String)], aggregate: Bool) -> any RecorderHandler {
        NOOPMetricsHandler.instance
    }
    public func makeTimer(label: String, dimensions: [(String, String)]) -> any TimerHandler {
        label == "feedback_delivery_latency_seconds" ? Handler(samples: self) : NOOPMetricsHandler.instance
    }
    public func destroyCounter(_ handler: any CounterHandler) {}
    public func destroyRecorder(_ handler: any RecorderHandler) {}
    public func destroyTimer(_ handler: any TimerHandler) {}

    private final class Handler: TimerHandler, Sendable {
        let samples: LatencySamples
        init(samples: LatencySamples) { self.samples = samples }
        func recordNanoseconds(_ duration: Int64) {
            guard samples.recording.load(ordering: .relaxed) else { return }
            samples.values.withLock { $0.append(duration) }
        }
    }
}
