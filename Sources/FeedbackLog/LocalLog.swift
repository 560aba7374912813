import Feedback
import Foundation
import SQLiteStore
import Synchronization

/// A durable, crash-safe log of events on local disk: append, read from an offset, acknowledge up to an
/// offset, per-consumer committed offsets, and a size cap.
///
/// Built on SQLite in WAL mode rather than a file format of our own: every append is a transaction, so a
/// SIGKILL or a power cut mid-write never corrupts what was committed before (SQLite's recovery discards a
/// torn tail), and other processes can read while one writes. Offsets increase and are never reused.
///
/// ```swift
/// let log = try LocalLog(configuration: .init(path: "feedback.sqlite"))
/// let offsets = try log.append([LogEntry(key: Array("user_1".utf8), payload: Array(json.utf8))])
/// for record in try log.read(after: 0, limit: 100) { print(record.offset) }
/// try log.acknowledge(through: offsets.upperBound)   // delete what was shipped
/// ```
public final class LocalLog: @unchecked Sendable {
    // @unchecked Sendable: the SQLite connection and its statements are used only with `lock` held.
    public struct Configuration: Sendable {
        /// What happens when an append would exceed `maxBytes`.
        public enum OverflowPolicy: String, Sendable {
            /// Refuse the append (``LocalLogError/Kind/full``); the caller counts the drop.
            case rejectNew = "reject_new"
            /// Delete the oldest records to make room (they are counted as evicted).
            case dropOldest = "drop_oldest"
        }

        /// How hard a commit holds on.
        public enum Sync: String, Sendable {
            /// Survives a process crash (SIGKILL); a power cut may lose the last commits, never corrupts.
            case processCrash = "normal"
            /// Survives a power cut too: fsync on every commit (group commits make it affordable).
            case powerLoss = "full"
        }

        public var path: String
        /// Cap on the bytes of keys and payloads held (default 1 GiB).
        public var maxBytes: Int
        public var overflow: OverflowPolicy
        public var sync: Sync

        public init(
            path: String, maxBytes: Int = 1 << 30, overflow: OverflowPolicy = .rejectNew, sync: Sync = .processCrash
        ) {
            self.path = path
            self.maxBytes = maxBytes
            self.overflow = overflow
            self.sync = sync
        }
    }

    /// Size and extent of the log.
    public struct Statistics: Sendable, Hashable {
        public var records: Int
        public var bytes: Int
        /// Offset of the oldest record held (0 when empty).
        public var firstOffset: Int64
        /// Offset of the newest record ever appended (0 before the first append).
        public var lastOffset: Int64
        /// Records deleted by the `dropOldest` policy since the log was created.
        public var evicted: Int
    }

    public let configuration: Configuration
    private let lock = NSLock()
    private let connection: SQLiteConnection

    /// Opens (creating if needed) the log at `configuration.path`.
    public init(configuration: Configuration) throws(LocalLogError) {
        self.configuration = configuration
        let directory = URL(fileURLWithPath: configuration.path).deletingLastPathComponent().path
        try? FileManager.default.createDirectory(
            atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        do {
            connection = try SQLiteConnection(path: configuration.path)
        } catch {
            throw LocalLogError(kind: .storage, message: "local log \(error.path): \(error.message)")
        }
        try locked {
            try connection.execute(
                """
                PRAGMA journal_mode=WAL;
                PRAGMA synchronous=\(configuration.sync.rawValue);
                PRAGMA busy_timeout=10000;
                CREATE TABLE IF NOT EXISTS events (offset INTEGER PRIMARY KEY AUTOINCREMENT, key BLOB,
                    payload BLOB NOT NULL, appended_ms INTEGER NOT NULL DEFAULT 0);
                CREATE TABLE IF NOT EXISTS consumers (name TEXT PRIMARY KEY, committed INTEGER NOT NULL);
                CREATE TABLE IF NOT EXISTS meta (id INTEGER PRIMARY KEY CHECK (id = 1), bytes INTEGER NOT NULL,
                    records INTEGER NOT NULL, evicted INTEGER NOT NULL);
                INSERT OR IGNORE INTO meta (id, bytes, records, evicted) VALUES (1, 0, 0, 0);
                """)
            // A log made before records carried their append time: its old records read 0 (unknown).
            let columns = try connection.query("PRAGMA table_info(events)", []).map { row in
                if case .text(let name) = row[1] { name } else { "" }
            }
            if !columns.contains("appended_ms") {
                try connection.execute("ALTER TABLE events ADD COLUMN appended_ms INTEGER NOT NULL DEFAULT 0")
            }
        }
    }

    /// Appends entries in one transaction and returns their offsets. Throws ``LocalLogError/Kind/full`` when
    /// the cap is reached under `rejectNew` (nothing is written then).
    @discardableResult
    public func append(_ entries: [LogEntry]) throws(LocalLogError) -> ClosedRange<Int64> {
        precondition(!entries.isEmpty, "append needs at least one entry")
        let size = entries.reduce(0) { $0 + $1.size }
        return try locked { () throws in
            try connection.transaction { () throws in
                try makeRoom(for: size, count: entries.count)
                var first: Int64 = 0
                var last: Int64 = 0
                let now = Int64(Date().timeIntervalSince1970 * 1000)
                for entry in entries {
                    last = try connection.insert(
                        "INSERT INTO events (key, payload, appended_ms) VALUES (?, ?, ?)",
                        [entry.key.map { .blob($0) } ?? .null, .blob(entry.payload), .int(now)])
                    if first == 0 { first = last }
                }
                try connection.run(
                    "UPDATE meta SET bytes = bytes + ?, records = records + ? WHERE id = 1",
                    [.int(Int64(size)), .int(Int64(entries.count))])
                return first...last
            }
        }
    }

    /// Records with an offset greater than `offset`, oldest first, at most `limit`.
    public func read(after offset: Int64, limit: Int) throws(LocalLogError) -> [LogRecord] {
        try locked { () throws in try readRecords(after: offset, limit: limit) }
    }

    /// Deletes every record up to and including `offset` (they were shipped and need not be kept).
    public func acknowledge(through offset: Int64) throws(LocalLogError) {
        try locked { () throws in
            try connection.transaction { () throws in
                let count =
                    try connection.queryInt("SELECT COUNT(*) FROM events WHERE offset <= ?", [.int(offset)]) ?? 0
                guard count > 0 else { return }
                let bytes =
                    try connection.queryInt(
                        "SELECT COALESCE(SUM(length(payload) + COALESCE(length(key), 0)), 0) FROM events WHERE offset <= ?",
                        [.int(offset)]) ?? 0
                try connection.run("DELETE FROM events WHERE offset <= ?", [.int(offset)])
                try connection.run(
                    "UPDATE meta SET bytes = bytes - ?, records = records - ? WHERE id = 1",
                    [.int(bytes), .int(count)])
            }
        }
    }

    /// The offset `consumer` committed last (0 if it never did).
    public func committedOffset(consumer: String) throws(LocalLogError) -> Int64 {
        try locked { () throws in
            try connection.queryInt("SELECT committed FROM consumers WHERE name = ?", [.text(consumer)]) ?? 0
        }
    }

    /// Records that `consumer` has processed everything up to and including `offset`.
    public func commit(consumer: String, offset: Int64) throws(LocalLogError) {
        try locked { () throws in
            try connection.run(
                "INSERT INTO consumers (name, committed) VALUES (?, ?) "
                    + "ON CONFLICT(name) DO UPDATE SET committed = excluded.committed",
                [.text(consumer), .int(offset)])
        }
    }

    public func statistics() throws(LocalLogError) -> Statistics {
        try locked { () throws in
            let bytes = try connection.queryInt("SELECT bytes FROM meta WHERE id = 1", []) ?? 0
            let records = try connection.queryInt("SELECT records FROM meta WHERE id = 1", []) ?? 0
            let evicted = try connection.queryInt("SELECT evicted FROM meta WHERE id = 1", []) ?? 0
            let first = try connection.queryInt("SELECT MIN(offset) FROM events", []) ?? 0
            let last = try connection.queryInt("SELECT seq FROM sqlite_sequence WHERE name = 'events'", []) ?? 0
            return Statistics(
                records: Int(records), bytes: Int(bytes), firstOffset: first, lastOffset: last, evicted: Int(evicted))
        }
    }

    /// SQLite's own consistency check; "ok" when the file is sound.
    public func integrityCheck() throws(LocalLogError) -> String {
        try locked { () throws in try connection.queryText("PRAGMA integrity_check") ?? "" }
    }

    /// Records after `offset`, oldest first (the caller holds the lock).
    private func readRecords(after offset: Int64, limit: Int) throws(SQLiteError) -> [LogRecord] {
        var records: [LogRecord] = []
        try connection.forEachRow(
            "SELECT offset, key, payload, appended_ms FROM events WHERE offset > ? ORDER BY offset LIMIT ?",
            [.int(offset), .int(Int64(limit))]
        ) { row throws(SQLiteError) in
            records.append(
                LogRecord(
                    offset: row.int(0), key: row.isNull(1) ? nil : row.blob(1), payload: row.blob(2),
                    appendedMs: row.int(3)))
        }
        return records
    }

    private func makeRoom(for size: Int, count: Int) throws {
        let held = Int(try connection.queryInt("SELECT bytes FROM meta WHERE id = 1", []) ?? 0)
        guard held + size > configuration.maxBytes else { return }
        if size > configuration.maxBytes || configuration.overflow == .rejectNew {
            throw LocalLogError(
                kind: .full,
                message: "local log \(configuration.path) is full (\(held) of \(configuration.maxBytes) bytes): "
                    + "raise maxBytes, ship the backlog (feedback spool replay), or use the drop_oldest policy")
        }
        // Evict the oldest records until the new ones fit.
        var needed = held + size - configuration.maxBytes
        while needed > 0 {
            let oldest = try readRecords(after: 0, limit: 256)
            guard !oldest.isEmpty else { break }
            var through: Int64 = 0
            var freed = 0
            var evicted = 0
            for record in oldest where needed > 0 {
                through = record.offset
                freed += record.size
                needed -= record.size
                evicted += 1
            }
            try connection.run("DELETE FROM events WHERE offset <= ?", [.int(through)])
            try connection.run(
                "UPDATE meta SET bytes = bytes - ?, records = records - ?, evicted = evicted + ? WHERE id = 1",
                [.int(Int64(freed)), .int(Int64(evicted)), .int(Int64(evicted))])
        }
    }

    /// Runs `body` under the lock; SQLite's failures become storage errors naming the log.
    private func locked<T>(_ body: () throws -> T) throws(LocalLogError) -> T {
        lock.lock()
        defer { lock.unlock() }
        do {
            return try body()
        } catch let error as LocalLogError {
            throw error
        } catch let error as SQLiteError {
            throw LocalLogError(kind: .storage, message: "local log \(error.path): \(error.message)")
        } catch {
            throw LocalLogError(kind: .storage, message: "local log \(configuration.path): \(error)")
        }
    }
}

/// One event to append: its partition key (if any) and its payload — the collector's encoded event.
public typealias LogEntry = EncodedEvent

extension EncodedEvent {
    var size: Int { payload.count + (key?.count ?? 0) }
}

/// One event read back, with its offset.
public struct LogRecord: Sendable, Hashable {
    public var offset: Int64
    public var key: [UInt8]?
    public var payload: [UInt8]
    /// When it was appended, in Unix milliseconds (0: appended by a build that did not record it).
    public var appendedMs: Int64 = 0

    var size: Int { payload.count + (key?.count ?? 0) }
}
