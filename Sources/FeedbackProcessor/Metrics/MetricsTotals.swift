import FeedbackWire
import SQLiteStore

/// What a live-metrics window counts. The store's value columns derive from this type.
///
/// ```swift
/// var totals = MetricsTotals()
/// totals.count(.conversion, amount: 99)  // conversions 1, revenue 99
/// ```
struct MetricsTotals: Sendable {
    var impressions: Int64 = 0
    var clicks: Int64 = 0
    var conversions: Int64 = 0
    var revenue = 0.0

    /// The store's value columns, in order.
    static let columns = ["impressions", "clicks", "conversions", "revenue"]
    /// Their SQL types, as `columns`.
    static let columnTypes = ["INTEGER NOT NULL", "INTEGER NOT NULL", "INTEGER NOT NULL", "REAL NOT NULL"]

    /// The totals as values bound to ``columns``.
    var values: [SQLiteConnection.Value] { [.int(impressions), .int(clicks), .int(conversions), .double(revenue)] }

    init() {}

    /// The totals held in the ``columns``.count values of `row`; nil when they are not their types.
    init?(row: ArraySlice<SQLiteConnection.Value>) {
        let row = Array(row)
        guard row.count == Self.columns.count, case .int(let impressions) = row[0], case .int(let clicks) = row[1],
            case .int(let conversions) = row[2]
        else { return nil }
        (self.impressions, self.clicks, self.conversions) = (impressions, clicks, conversions)
        revenue =
            switch row[3] {
            case .double(let value): value
            case .int(let value): Double(value)
            default: 0
            }
    }

    /// Counts one impression, click or conversion (worth `amount`).
    mutating func count(_ kind: EventKind, amount: Double?) {
        switch kind {
        case .impression: impressions += 1
        case .click: clicks += 1
        case .conversion:
            conversions += 1
            revenue += amount ?? 0
        case .other: break
        }
    }
}
