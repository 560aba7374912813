import CSQLite

/// The few SQLite calls the log needs, with cached prepared statements. Not thread-safe: ``LocalLog``
/// serialises every use under its lock.
package final class SQLiteConnection {
    package enum Value {
        case int(Int64)
        case double(Double)
        case text(String)
        case blob([UInt8])
        case null
    }

    private let handle: OpaquePointer
    private var statements: [String: OpaquePointer] = [:]
    package let path: String

    package init(path: String) throws(LocalLogError) {
        self.path = path
        var db: OpaquePointer?
        let flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX
        let status = sqlite3_open_v2(path, &db, flags, nil)
        guard status == SQLITE_OK, let db else {
            let message = db.map { String(cString: sqlite3_errmsg($0)) } ?? "out of memory"
            sqlite3_close(db)
            throw LocalLogError(
                kind: .storage, message: "cannot open local log \(path): \(message); check the path and permissions")
        }
        handle = db
    }

    deinit {
        for statement in statements.values { sqlite3_finalize(statement) }
        sqlite3_close(handle)
    }

    package func execute(_ sql: String) throws(LocalLogError) {
        var error: UnsafeMutablePointer<CChar>?
        if sqlite3_exec(handle, sql, nil, nil, &error) != SQLITE_OK {
            let message = error.map { String(cString: $0) } ?? "unknown error"
            sqlite3_free(error)
            throw failure(message)
        }
    }

    package func transaction<T>(_ body: () throws(LocalLogError) -> T) throws(LocalLogError) -> T {
        try execute("BEGIN IMMEDIATE")
        do {
            let result = try body()
            try execute("COMMIT")
            return result
        } catch {
            try? execute("ROLLBACK")
            throw error
        }
    }

    func insert(key: [UInt8]?, payload: [UInt8]) throws(LocalLogError) -> Int64 {
        let statement = try prepare("INSERT INTO events (key, payload) VALUES (?, ?)")
        defer { sqlite3_reset(statement) }
        if let key {
            key.withUnsafeBytes { _ = feedback_bind_blob(statement, 1, $0.baseAddress, Int32($0.count)) }
        } else {
            sqlite3_bind_null(statement, 1)
        }
        payload.withUnsafeBytes { _ = feedback_bind_blob(statement, 2, $0.baseAddress, Int32($0.count)) }
        guard sqlite3_step(statement) == SQLITE_DONE else { throw lastFailure() }
        return sqlite3_last_insert_rowid(handle)
    }

    func read(after offset: Int64, limit: Int) throws(LocalLogError) -> [LogRecord] {
        let statement = try prepare("SELECT offset, key, payload FROM events WHERE offset > ? ORDER BY offset LIMIT ?")
        defer { sqlite3_reset(statement) }
        sqlite3_bind_int64(statement, 1, offset)
        sqlite3_bind_int64(statement, 2, Int64(limit))
        var records: [LogRecord] = []
        while true {
            let status = sqlite3_step(statement)
            if status == SQLITE_DONE { break }
            guard status == SQLITE_ROW else { throw lastFailure() }
            let key: [UInt8]? = sqlite3_column_type(statement, 1) == SQLITE_NULL ? nil : blob(statement, 1)
            records.append(LogRecord(offset: sqlite3_column_int64(statement, 0), key: key, payload: blob(statement, 2)))
        }
        return records
    }

    func sizeOf(through offset: Int64) throws(LocalLogError) -> (count: Int64, bytes: Int64) {
        let statement = try prepare(
            "SELECT COUNT(*), COALESCE(SUM(length(payload) + COALESCE(length(key), 0)), 0) FROM events WHERE offset <= ?"
        )
        defer { sqlite3_reset(statement) }
        sqlite3_bind_int64(statement, 1, offset)
        guard sqlite3_step(statement) == SQLITE_ROW else { throw lastFailure() }
        return (sqlite3_column_int64(statement, 0), sqlite3_column_int64(statement, 1))
    }

    package func run(_ sql: String, _ values: [Value]) throws(LocalLogError) {
        let statement = try prepare(sql)
        defer { sqlite3_reset(statement) }
        bind(statement, values)
        let status = sqlite3_step(statement)
        guard status == SQLITE_DONE || status == SQLITE_ROW else { throw lastFailure() }
    }

    /// Runs `head VALUES (?, …), … tail` over `rows` (each one row's values, all the same width), many rows
    /// per statement: for bulk inserts and upserts, where the statement, not the row, is most of the cost.
    /// Returns what a `RETURNING` tail returned. Statements hold 256, 64, 16, 4 or 1 rows, so that a handful
    /// of prepared statements serve any count.
    package func runMany(_ head: String, _ tail: String = "", rows: [[Value]]) throws(LocalLogError) -> [[Value]] {
        guard let width = rows.first?.count else { return [] }
        let group = "(" + Array(repeating: "?", count: width).joined(separator: ",") + ")"
        var returned: [[Value]] = []
        var start = 0
        for size in [256, 64, 16, 4, 1] {
            guard rows.count - start >= size else { continue }
            let sql = head + " VALUES " + Array(repeating: group, count: size).joined(separator: ",") + " " + tail
            while rows.count - start >= size {
                returned += try query(sql, rows[start..<start + size].flatMap { $0 })
                start += size
            }
        }
        return returned
    }

    /// ``runMany(_:_:rows:)`` for rows of two integers returning two integers (`RETURNING a, b`), bound and
    /// read without a ``Value`` array per row: the processor's seen-id inserts, one per event.
    package func runMany(
        _ head: String, _ tail: String, pairs: [(Int64, Int64)]
    ) throws(LocalLogError) -> [(Int64, Int64)] {
        var returned: [(Int64, Int64)] = []
        var start = 0
        for size in [256, 64, 16, 4, 1] {
            guard pairs.count - start >= size else { continue }
            let sql = head + " VALUES " + Array(repeating: "(?,?)", count: size).joined(separator: ",") + " " + tail
            let statement = try prepare(sql)
            while pairs.count - start >= size {
                defer { sqlite3_reset(statement) }
                for index in 0..<size {
                    sqlite3_bind_int64(statement, Int32(2 * index + 1), pairs[start + index].0)
                    sqlite3_bind_int64(statement, Int32(2 * index + 2), pairs[start + index].1)
                }
                while true {
                    let status = sqlite3_step(statement)
                    if status == SQLITE_DONE { break }
                    guard status == SQLITE_ROW else { throw lastFailure() }
                    returned.append((sqlite3_column_int64(statement, 0), sqlite3_column_int64(statement, 1)))
                }
                start += size
            }
        }
        return returned
    }

    package func queryInt(_ sql: String, _ values: [Value]) throws(LocalLogError) -> Int64? {
        let statement = try prepare(sql)
        defer { sqlite3_reset(statement) }
        bind(statement, values)
        let status = sqlite3_step(statement)
        if status == SQLITE_DONE { return nil }
        guard status == SQLITE_ROW else { throw lastFailure() }
        return sqlite3_column_type(statement, 0) == SQLITE_NULL ? nil : sqlite3_column_int64(statement, 0)
    }

    /// Every row of a query, each column as a ``Value``.
    package func query(_ sql: String, _ values: [Value]) throws(LocalLogError) -> [[Value]] {
        let statement = try prepare(sql)
        defer { sqlite3_reset(statement) }
        bind(statement, values)
        var rows: [[Value]] = []
        while true {
            let status = sqlite3_step(statement)
            if status == SQLITE_DONE { break }
            guard status == SQLITE_ROW else { throw lastFailure() }
            rows.append(
                (0..<sqlite3_column_count(statement)).map { column in
                    switch sqlite3_column_type(statement, column) {
                    case SQLITE_INTEGER: .int(sqlite3_column_int64(statement, column))
                    case SQLITE_FLOAT: .double(sqlite3_column_double(statement, column))
                    case SQLITE_NULL: .null
                    case SQLITE_BLOB: .blob(blob(statement, column))
                    default: .text(sqlite3_column_text(statement, column).map { String(cString: $0) } ?? "")
                    }
                })
        }
        return rows
    }

    package func queryText(_ sql: String) throws(LocalLogError) -> String? {
        let statement = try prepare(sql)
        defer { sqlite3_reset(statement) }
        guard sqlite3_step(statement) == SQLITE_ROW, let text = sqlite3_column_text(statement, 0) else { return nil }
        return String(cString: text)
    }

    private func bind(_ statement: OpaquePointer, _ values: [Value]) {
        for (index, value) in values.enumerated() {
            switch value {
            case .int(let number): sqlite3_bind_int64(statement, Int32(index + 1), number)
            case .text(let text): _ = feedback_bind_text(statement, Int32(index + 1), text)
            case .double(let number): sqlite3_bind_double(statement, Int32(index + 1), number)
            case .blob(let bytes):
                _ = bytes.withUnsafeBytes {
                    feedback_bind_blob(statement, Int32(index + 1), $0.baseAddress, Int32($0.count))
                }
            case .null: sqlite3_bind_null(statement, Int32(index + 1))
            }
        }
    }

    private func blob(_ statement: OpaquePointer, _ column: Int32) -> [UInt8] {
        let count = Int(sqlite3_column_bytes(statement, column))
        guard count > 0, let bytes = sqlite3_column_blob(statement, column) else { return [] }
        return Array(UnsafeRawBufferPointer(start: bytes, count: count))
    }

    private func prepare(_ sql: String) throws(LocalLogError) -> OpaquePointer {
        if let cached = statements[sql] { return cached }
        var statement: OpaquePointer?
        guard sqlite3_prepare_v2(handle, sql, -1, &statement, nil) == SQLITE_OK, let statement else {
            throw lastFailure()
        }
        statements[sql] = statement
        return statement
    }

    private func lastFailure() -> LocalLogError { failure(String(cString: sqlite3_errmsg(handle))) }

    private func failure(_ message: String) -> LocalLogError {
        LocalLogError(kind: .storage, message: "local log \(path): \(message)")
    }
}
