/// Where the processor publishes live metrics after each batch (besides its embedded store): ClickHouse
/// (module `FeedbackProcessorClickHouse`), or anything that takes absolute windows.
///
/// ```swift
/// final class PrintingSink: MetricsSink {
///     func write(_ windows: [MetricsWindow], version: Int64) throws { windows.forEach { print($0) } }
/// }
/// let processor = try FeedbackProcessor(log: log, configuration: configuration, metricsSinks: [PrintingSink()])
/// ```
public protocol MetricsSink: AnyObject {
    /// Upserts these windows' absolute values, tagged with an increasing `version`. Called inside the batch's
    /// transaction before it commits; a retried batch re-sends with the same version, replacing the rows.
    func write(_ windows: [MetricsWindow], version: Int64) throws
}
