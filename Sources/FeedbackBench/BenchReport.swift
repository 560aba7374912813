/// Everything `feedback-bench` measured, as printed with `--json` (keys in snake_case: `p99_us`, ...).
public struct BenchReport: Codable, Sendable {
    public struct Throughput: Codable, Sendable {
        /// Our acknowledged events per second (record → acked, JSON encoding included).
        public var ours: Double
        /// kcat's events per second producing the same pre-encoded events with the same settings.
        public var kcat: Double
        public var ratio: Double
        /// CPU time (user + system, all threads) per event: ours, and kcat's. On a machine the broker shares,
        /// wall-clock rates move with its load; CPU per event is the steadier figure to compare builds by.
        public var oursCpuUs: Double?
        public var kcatCpuUs: Double?
        /// The broker's CPU time per event during each side's run: on a machine whose cores the client and the
        /// broker share, the wall-clock ratio follows (kcat's CPU + its broker's) / (ours + ours's broker's).
        public var oursBrokerCpuUs: Double?
        public var kcatBrokerCpuUs: Double?

        /// Each round's ratio, when there were several (`ratio` is then their median).
        public var ratios: [Double]?

        public init(ours: Double, kcat: Double, ratio: Double, oursCpuUs: Double? = nil, kcatCpuUs: Double? = nil) {
            self.ours = ours
            self.kcat = kcat
            self.ratio = ratio
            self.oursCpuUs = oursCpuUs
            self.kcatCpuUs = kcatCpuUs
        }

        /// Medians over rounds of paired runs (`ours[i]` beside `kcat[i]`): rates, CPU per event and the
        /// rounds' ratios.
        public init(ours: [ThroughputBenchmark.Measurement], kcat: [ThroughputBenchmark.Measurement]) {
            let ratios = zip(ours, kcat).map { $0.rate / $1.rate }
            self.init(
                ours: Self.median(ours.map(\.rate)), kcat: Self.median(kcat.map(\.rate)), ratio: Self.median(ratios),
                oursCpuUs: Self.median(ours.map(\.cpuMicroseconds)), kcatCpuUs: Self.median(kcat.map(\.cpuMicroseconds))
            )
            self.ratios = ratios.count > 1 ? ratios : nil
            let oursBroker = ours.compactMap(\.brokerCpuMicroseconds)
            let kcatBroker = kcat.compactMap(\.brokerCpuMicroseconds)
            oursBrokerCpuUs = oursBroker.isEmpty ? nil : Self.median(oursBroker)
            kcatBrokerCpuUs = kcatBroker.isEmpty ? nil : Self.median(kcatBroker)
        }

        static func median(_ values: [Double]) -> Double {
            let sorted = values.sorted()
            guard !sorted.isEmpty else { return 0 }
            let middle = sorted.count / 2
            return sorted.count % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
        }
    }

    public struct Hook: Codable, Sendable {
        public var p50Us: Double
        public var p99Us: Double
        public var p999Us: Double
        public var allocsPerEvent: Double
    }

    public struct Outage: Codable, Sendable {
        public var peakRssMib: Double
        public var capMib: Double
        public var secondsDown: Double
        public var eventsPerSecond: Double
        public var spooled: Int
    }

    public struct Replay: Codable, Sendable {
        public var eventsPerSecond: Double
        public var events: Int
    }

    public struct Latency: Codable, Sendable {
        public var rate: Double
        public var p50Ms: Double
        public var p99Ms: Double
        public var samples: Int
    }

    public var events: Int
    public var throughput: [String: Throughput] = [:]
    public var hook: Hook?
    public var outage: Outage?
    public var replay: Replay?
    public var latency: Latency?
    /// Stream processor: events/s from Kafka into profiles, metrics and samples, beside kcat consuming.
    public var processor: Throughput?
    /// The same with 1 % hostile records mixed in (records/s, every record read counted).
    public var processorHostile: Throughput?

    public init(events: Int) { self.events = events }
}
