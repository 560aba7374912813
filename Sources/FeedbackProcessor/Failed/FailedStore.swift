import SQLiteStore

/// The failed-records table of the processor's store: one row per refused record, keyed by where it was read
/// (a record read again after a restart is not kept twice).
enum FailedStore {
    static let createTable = """
        CREATE TABLE IF NOT EXISTS failed_records (partition INTEGER NOT NULL, offset INTEGER NOT NULL,
            source TEXT NOT NULL, kind TEXT NOT NULL, reason TEXT NOT NULL, size INTEGER NOT NULL,
            payload BLOB NOT NULL, PRIMARY KEY (partition, offset)) WITHOUT ROWID;
        """

    static func write(_ records: [FailedRecord], to store: SQLiteConnection) throws(SQLiteError) {
        guard !records.isEmpty else { return }
        _ = try store.runMany(
            "INSERT OR IGNORE INTO failed_records (partition, offset, source, kind, reason, size, payload)",
            rows: records.map { record in
                [
                    .int(Int64(record.partition)), .int(record.offset), .text(record.source), .text(record.kind),
                    .text(record.reason), .int(Int64(record.size)), .blob(record.payload),
                ]
            })
    }

    /// Up to `limit` failed records, in partition and offset order.
    static func read(from store: SQLiteConnection, limit: Int) throws(SQLiteError) -> [FailedRecord] {
        try store.query(
            "SELECT partition, offset, source, kind, reason, size, payload FROM failed_records "
                + "ORDER BY partition, offset LIMIT ?", [.int(Int64(limit))]
        ).compactMap { row in
            guard case .int(let partition) = row[0], case .int(let offset) = row[1], case .text(let source) = row[2],
                case .text(let kind) = row[3], case .text(let reason) = row[4], case .int(let size) = row[5]
            else { return nil }
            let payload: [UInt8] = if case .blob(let bytes) = row[6] { bytes } else { [] }
            return FailedRecord(
                source: source, partition: Int32(partition), offset: offset, kind: kind, reason: reason,
                size: Int(size), payload: payload)
        }
    }

    static func count(in store: SQLiteConnection) throws(SQLiteError) -> Int {
        Int(try store.queryInt("SELECT count(*) FROM failed_records", []) ?? 0)
    }

    /// Forgets the records at these places (fed back corrected); returns how many were there.
    static func remove(_ places: [(partition: Int32, offset: Int64)], from store: SQLiteConnection)
        throws(SQLiteError) -> Int
    {
        var removed = 0
        for place in places {
            let before = try count(in: store)
            try store.run(
                "DELETE FROM failed_records WHERE partition = ? AND offset = ?",
                [.int(Int64(place.partition)), .int(place.offset)])
            removed += before - (try count(in: store))
        }
        return removed
    }
}
