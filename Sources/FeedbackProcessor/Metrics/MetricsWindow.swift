/// Live metrics of one minute × scene × recall source (the dimensions of `MetricsKey`, the counts of
/// `MetricsTotals`).
///
/// ```swift
/// for window in try processor.metrics(limit: 12) { print(window.scene, window.source, window.ctr) }
/// ```
public struct MetricsWindow: Sendable, Hashable, Codable {
    public var minuteMs: Int64
    public var scene: String
    public var source: String
    public var impressions: Int
    public var clicks: Int
    public var conversions: Int
    public var revenue: Double
    /// clicks / impressions (0 without impressions).
    public var ctr: Double { impressions == 0 ? 0 : Double(clicks) / Double(impressions) }
    /// conversions / clicks (0 without clicks).
    public var cvr: Double { clicks == 0 ? 0 : Double(conversions) / Double(clicks) }

    public init(
        minuteMs: Int64, scene: String, source: String, impressions: Int, clicks: Int, conversions: Int,
        revenue: Double
    ) {
        (self.minuteMs, self.scene, self.source) = (minuteMs, scene, source)
        (self.impressions, self.clicks, self.conversions, self.revenue) = (impressions, clicks, conversions, revenue)
    }
}

extension MetricsWindow {
    init(key: MetricsKey, totals: MetricsTotals) {
        self.init(
            minuteMs: key.minute, scene: key.scene, source: key.source, impressions: Int(totals.impressions),
            clicks: Int(totals.clicks), conversions: Int(totals.conversions), revenue: totals.revenue)
    }
}
