import FeedbackBench
import Testing

@Suite struct BenchReportTests {
    /// Rounds of paired runs report medians: of each side's rates and CPU, and of the rounds' own ratios (not
    /// the ratio of the medians, which can pair one round's ours with another round's kcat).
    @Test func throughputRoundsReportMedians() {
        let ours = [(600.0, 2.0), (300.0, 3.0), (500.0, 2.5)].map {
            ThroughputBenchmark.Measurement(rate: $0, cpuMicroseconds: $1)
        }
        let kcat = [(500.0, 2.2), (400.0, 2.4), (600.0, 2.1)].map {
            ThroughputBenchmark.Measurement(rate: $0, cpuMicroseconds: $1)
        }
        let row = BenchReport.Throughput(ours: ours, kcat: kcat)
        #expect(row.ours == 500 && row.kcat == 500)
        #expect(row.oursCpuUs == 2.5 && row.kcatCpuUs == 2.2)
        #expect(row.ratios == [1.2, 0.75, 500.0 / 600.0])
        #expect(row.ratio == 500.0 / 600.0)

        let single = BenchReport.Throughput(ours: [ours[0]], kcat: [kcat[0]])
        #expect(single.ratio == 1.2 && single.ratios == nil)
        let two = BenchReport.Throughput(ours: Array(ours.prefix(2)), kcat: Array(kcat.prefix(2)))
        #expect(two.ratio == (1.2 + 0.75) / 2 && two.ours == 450)
    }
}
