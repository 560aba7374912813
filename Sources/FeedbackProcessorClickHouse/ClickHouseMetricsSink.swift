import FeedbackProcessor
import Foundation
import Synchronization

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// Live metrics in ClickHouse over HTTP (`INSERT ... FORMAT JSONEachRow`).
///
/// The table is a `ReplacingMergeTree(version)` ordered by (minute_ms, scene, source, processor): every write
/// carries a window's absolute counts, so a re-sent window replaces its earlier row instead of adding to
/// it, and processors sharing a consumer group each own their row. Read totals with `FINAL` and a sum over
/// processors (``totals(limit:)`` does). The SQL stays within what ClickHouse 18.16 accepts.
///
/// ```swift
/// let sink = try ClickHouseMetricsSink(url: URL(string: "http://127.0.0.1:8123")!, instance: "processor-1")
/// let processor = try FeedbackProcessor(log: log, configuration: configuration, metricsSinks: [sink])
/// ```
public final class ClickHouseMetricsSink: MetricsSink {
    public let url: URL
    public let table: String
    public let instance: String

    public init(url: URL, table: String = "feedback_metrics", instance: String = "default") throws {
        self.url = url
        self.table = table
        self.instance = instance
        try execute(
            """
            CREATE TABLE IF NOT EXISTS \(table) (
                minute_ms UInt64, scene String, source String, processor String,
                impressions UInt64, clicks UInt64, conversions UInt64, revenue Float64, version Int64,
                minute DateTime MATERIALIZED toDateTime(intDiv(minute_ms, 1000))
            ) ENGINE = ReplacingMergeTree(version)
            PARTITION BY toYYYYMM(toDateTime(intDiv(minute_ms, 1000)))
            ORDER BY (minute_ms, scene, source, processor)
            """)
    }

    public func write(_ windows: [MetricsWindow], version: Int64) throws {
        guard !windows.isEmpty else { return }
        var body = ""
        for window in windows {
            let row: [String: Any] = [
                "minute_ms": window.minuteMs, "scene": window.scene, "source": window.source, "processor": instance,
                "impressions": window.impressions, "clicks": window.clicks, "conversions": window.conversions,
                "revenue": window.revenue, "version": version,
            ]
            body += String(
                decoding: try JSONSerialization.data(withJSONObject: row, options: [.sortedKeys]), as: UTF8.self)
            body += "\n"
        }
        try execute("INSERT INTO \(table) FORMAT JSONEachRow", body: Data(body.utf8))
    }

    /// Totals per window over every processor, newest first.
    public func totals(limit: Int = 100) throws -> [MetricsWindow] {
        let text = try execute(
            """
            SELECT minute_ms, scene, source, sum(impressions) AS impressions, sum(clicks) AS clicks,
                   sum(conversions) AS conversions, sum(revenue) AS revenue
            FROM \(table) FINAL GROUP BY minute_ms, scene, source
            ORDER BY minute_ms DESC, scene, source LIMIT \(limit) FORMAT JSONEachRow
            """)
        return try text.split(separator: "\n").map { line in
            guard let row = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else {
                throw ProcessorError.storage("unexpected ClickHouse row: \(line)")
            }
            // ClickHouse writes 64-bit integers as JSON strings.
            func int(_ key: String) -> Int64 { Int64("\(row[key] ?? 0)") ?? (row[key] as? NSNumber)?.int64Value ?? 0 }
            return MetricsWindow(
                minuteMs: int("minute_ms"), scene: row["scene"] as? String ?? "",
                source: row["source"] as? String ?? "",
                impressions: Int(int("impressions")), clicks: Int(int("clicks")), conversions: Int(int("conversions")),
                revenue: (row["revenue"] as? NSNumber)?.doubleValue ?? Double("\(row["revenue"] ?? 0)") ?? 0)
        }
    }

    /// Runs one statement over HTTP and returns the response body; errors carry ClickHouse's message.
    @discardableResult
    func execute(_ query: String, body: Data? = nil) throws -> String {
        var components = URLComponents(url: url, resolvingAgainstBaseURL: false)!
        components.queryItems = [URLQueryItem(name: "query", value: query)]
        var request = URLRequest(url: components.url!)
        request.httpMethod = "POST"
        request.httpBody = body ?? Data()
        request.timeoutInterval = 30
        let result = Mutex<(Data?, Int, (any Error)?)>((nil, 0, nil))
        let done = DispatchSemaphore(value: 0)
        URLSession.shared.dataTask(with: request) { data, response, error in
            result.withLock { $0 = (data, (response as? HTTPURLResponse)?.statusCode ?? 0, error) }
            done.signal()
        }.resume()
        done.wait()
        let (data, status, error) = result.withLock { $0 }
        if let error {
            throw ProcessorError.storage("ClickHouse at \(url) is unreachable: \(error.localizedDescription)")
        }
        let text = String(decoding: data ?? Data(), as: UTF8.self)
        guard status == 200 else {
            throw ProcessorError.storage("ClickHouse refused (HTTP \(status)): \(text.prefix(500))")
        }
        return text
    }
}
