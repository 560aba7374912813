import Foundation
import SQLiteStore

/// The processor's embedded store (SQLite, WAL): its offsets, counters and the tables of every stage
/// (profiles, metrics, seen ids, attribution segments), in one transaction per batch.
///
/// ```swift
/// let store = try ProcessorStore(path: "feedback-data/processor.sqlite")
/// let applied = try store.appliedOffsets()   // [partition: offset]
/// ```
final class ProcessorStore {
    let connection: SQLiteConnection
    var path: String { connection.path }

    /// Opens (creating) the store at `path`, in the current layout (``StoreLayout``).
    init(path: String) throws(ProcessorError) {
        do {
            let directory = (path as NSString).deletingLastPathComponent
            try FileManager.default.createDirectory(
                atPath: directory.isEmpty ? "." : directory, withIntermediateDirectories: true,
                attributes: [.posixPermissions: 0o700])
        } catch {
            throw .storage("cannot create the directory of \(path): \(error)")
        }
        connection = try ProcessorError.map {
            let connection = try SQLiteConnection(path: path)
            // The busy timeout first: another connection closing (the last one checkpoints the WAL, briefly
            // holding the database exclusively) made the journal mode fail at once with "database is locked".
            try connection.execute(
                """
                PRAGMA busy_timeout=10000;
                PRAGMA journal_mode=WAL;
                PRAGMA synchronous=FULL;
                PRAGMA cache_size=-65536;
                PRAGMA wal_autocheckpoint=0;
                """)
            try StoreLayout.prepare(connection)
            return connection
        }
    }

    /// The last input offset applied, per partition.
    func appliedOffsets() throws(SQLiteError) -> [Int32: Int64] {
        var offsets: [Int32: Int64] = [:]
        for row in try connection.query("SELECT partition, applied FROM offsets", []) {
            if case .int(let partition) = row[0], case .int(let offset) = row[1] { offsets[Int32(partition)] = offset }
        }
        return offsets
    }

    /// The newest event time applied, per partition.
    func newestPerPartition() throws(SQLiteError) -> [Int32: Int64] {
        var newest: [Int32: Int64] = [:]
        for row in try connection.query("SELECT partition, newest_ms FROM offsets", []) {
            if case .int(let partition) = row[0], case .int(let ms) = row[1] { newest[Int32(partition)] = ms }
        }
        return newest
    }

    /// Records the offsets applied and the newest event time per partition.
    func writeOffsets(_ applied: [Int32: Int64], newest: [Int32: Int64]) throws(SQLiteError) {
        for (partition, offset) in applied {
            try connection.run(
                "INSERT INTO offsets (partition, applied, newest_ms) VALUES (?, ?, ?) "
                    + "ON CONFLICT(partition) DO UPDATE SET applied = excluded.applied, newest_ms = excluded.newest_ms",
                [.int(Int64(partition)), .int(offset), .int(newest[partition] ?? 0)])
        }
    }

    /// A number that increases with every call in a committed transaction (rolled back with a failed one,
    /// so a retried batch gets the same number again).
    func nextCounter(_ name: String) throws(SQLiteError) -> Int64 {
        try connection.run(
            "INSERT INTO counters (name, value) VALUES (?, 1) ON CONFLICT(name) DO UPDATE SET value = value + 1",
            [.text(name)])
        return try connection.queryInt("SELECT value FROM counters WHERE name = ?", [.text(name)]) ?? 1
    }

    /// Changes whenever another connection commits to the store (SQLite's `data_version`).
    func dataVersion() throws(SQLiteError) -> Int64? {
        try connection.queryInt("PRAGMA data_version", [])
    }

    /// `value` in decimal, zero-padded to 12 digits (sortable file names).
    static func padded(_ value: Int64) -> String {
        let digits = String(value)
        return String(repeating: "0", count: max(0, 12 - digits.count)) + digits
    }
}
