import SQLiteStore

/// The live-metrics table of the processor's store: one row per window (``MetricsKey``), its
/// ``MetricsTotals`` as they stand after the last committed batch. Every statement is built from the key's
/// and the totals' columns.
///
/// ```swift
/// let totals = try MetricsStore.totals(of: key, in: store) ?? MetricsTotals()
/// try MetricsStore.write([key: totals], to: store)
/// ```
enum MetricsStore {
    private static let allColumns = (MetricsKey.columns + MetricsTotals.columns).joined(separator: ", ")

    /// The table's definition.
    static let createTable =
        "CREATE TABLE IF NOT EXISTS metrics ("
        + zip(MetricsKey.columns + MetricsTotals.columns, MetricsKey.columnTypes + MetricsTotals.columnTypes)
        .map { "\($0) \($1)" }.joined(separator: ", ")
        + ", PRIMARY KEY (\(MetricsKey.columns.joined(separator: ", ")))) WITHOUT ROWID;"

    /// The totals of `key`'s window as `store` holds them (nil for a new window).
    static func totals(of key: MetricsKey, in store: SQLiteConnection) throws(SQLiteError) -> MetricsTotals? {
        let columns = MetricsTotals.columns.joined(separator: ", ")
        guard
            let row = try store.query(
                "SELECT \(columns) FROM metrics WHERE \(MetricsKey.matchingColumns)", key.values
            ).first
        else { return nil }
        return MetricsTotals(row: row[...])
    }

    /// Upserts these windows, many rows per statement.
    static func write(_ windows: [MetricsKey: MetricsTotals], to store: SQLiteConnection) throws(SQLiteError) {
        let updates = MetricsTotals.columns.map { "\($0) = excluded.\($0)" }.joined(separator: ", ")
        _ = try store.runMany(
            "INSERT INTO metrics (\(allColumns))",
            "ON CONFLICT(\(MetricsKey.columns.joined(separator: ", "))) DO UPDATE SET \(updates)",
            rows: windows.map { $0.key.values + $0.value.values })
    }

    /// The most recent `limit` windows, newest minute first.
    static func latest(_ limit: Int, in store: SQLiteConnection) throws(SQLiteError) -> [MetricsWindow] {
        let order = ["\(MetricsKey.columns[0]) DESC"] + MetricsKey.columns.dropFirst()
        return try store.query(
            "SELECT \(allColumns) FROM metrics ORDER BY \(order.joined(separator: ", ")) LIMIT ?",
            [.int(Int64(limit))]
        ).compactMap(window)
    }

    /// Every window of these minutes.
    static func windows(minutes: Set<Int64>, in store: SQLiteConnection) throws(SQLiteError) -> [MetricsWindow] {
        var windows: [MetricsWindow] = []
        for minute in minutes.sorted() {
            windows += try store.query(
                "SELECT \(allColumns) FROM metrics WHERE \(MetricsKey.columns[0]) = ?", [.int(minute)]
            ).compactMap(window)
        }
        return windows
    }

    private static func window(_ row: [SQLiteConnection.Value]) -> MetricsWindow? {
        let keyCount = MetricsKey.columns.count
        guard let key = MetricsKey(row: row[..<keyCount]), let totals = MetricsTotals(row: row[keyCount...]) else {
            return nil
        }
        return MetricsWindow(key: key, totals: totals)
    }
}
