import CSQLite

#if canImport(Glibc)
    import Glibc
#endif

/// One SQLite database connection with cached prepared statements: the few calls the local log and the
/// processor's store make, with values as ``Value``s and rows read without C pointers above this module.
/// Not thread-safe: its owner serialises every use (``LocalLog`` under its lock; the processor on its thread).
///
/// ```swift
/// let store = try SQLiteConnection(path: "feedback-data/processor.sqlite")
/// try store.execute("CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER)")
/// try store.transaction { try store.run("INSERT INTO counters VALUES (?, ?)", [.text("batch"), .int(1)]) }
/// let value = try store.queryInt("SELECT value FROM counters WHERE name = ?", [.text("batch")])
/// ```
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

    package init(path: String) throws(SQLiteError) {
        self.path = path
        var db: OpaquePointer?
        let flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX
        // Events hold user ids: a new database is its owner's alone (0600; SQLite gives its -wal and -shm
        // files the database's permissions). An existing one keeps the permissions it has.
        if path != ":memory:" && !path.isEmpty {
            let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
            if fd >= 0 { close(fd) }
        }
        let status = sqlite3_open_v2(path, &db, flags, nil)
        guard status == SQLITE_OK, let db else {
            let message = db.map { String(cString: sqlite3_errmsg($0)) } ?? "out of memory"
            sqlite3_close(db)
            throw SQLiteError(path: path, message: "cannot open: \(message); check the path and permissions")
        }
        handle = db
    }

    deinit {
        for statement in statements.values { sqlite3_finalize(statement) }
        sqlite3_close(handle)
    }

    package func execute(_ sql: String) throws(SQLiteError) {
        var error: UnsafeMutablePointer<CChar>?
        if sqlite3_exec(handle, sql, nil, nil, &error) != SQLITE_OK {
            let message = error.map { String(cString: $0) } ?? "unknown error"
            sqlite3_free(error)
            throw failure(message)
        }
    }

    /// Runs `body` in one `BEGIN IMMEDIATE` transaction: committed when it returns, rolled back when it
    /// throws (its error rethrown as it is; a failed commit throws ``SQLiteError``).
    package func transaction<T>(_ body: () throws -> T) throws -> T {
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

    package func run(_ sql: String, _ values: [Value]) throws(SQLiteError) {
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
    package func runMany(_ head: String, _ tail: String = "", rows: [[Value]]) throws(SQLiteError) -> [[Value]] {
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
    ) throws(SQLiteError) -> [(Int64, Int64)] {
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

    package func queryInt(_ sql: String, _ values: [Value]) throws(SQLiteError) -> Int64? {
        let statement = try prepare(sql)
        defer { sqlite3_reset(statement) }
        bind(statement, values)
        let status = sqlite3_step(statement)
        if status == SQLITE_DONE { return nil }
        guard status == SQLITE_ROW else { throw lastFailure() }
        return sqlite3_column_type(statement, 0) == SQLITE_NULL ? nil : sqlite3_column_int64(statement, 0)
    }

    /// Every row of a query, each column as a ``Value``.
    package func query(_ sql: String, _ values: [Value]) throws(SQLiteError) -> [[Value]] {
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
                    case SQLITE_BLOB: .blob(Self.blob(statement, column))
                    default: .text(Self.text(statement, column))
                    }
                })
        }
        return rows
    }

    package func queryText(_ sql: String) throws(SQLiteError) -> String? {
        let statement = try prepare(sql)
        defer { sqlite3_reset(statement) }
        guard sqlite3_step(statement) == SQLITE_ROW, let text = sqlite3_column_text(statement, 0) else { return nil }
        return String(cString: text)
    }

    /// Runs `sql` and hands each row to `body` as a ``Row`` read in place (no ``Value`` array per row): for
    /// reads of many rows, such as a poll of the local log.
    package func forEachRow(
        _ sql: String, _ values: [Value], _ body: (borrowing Row) throws(SQLiteError) -> Void
    ) throws(SQLiteError) {
        let statement = try prepare(sql)
        defer { sqlite3_reset(statement) }
        bind(statement, values)
        while true {
            let status = sqlite3_step(statement)
            if status == SQLITE_DONE { break }
            guard status == SQLITE_ROW else { throw lastFailure() }
            try body(Row(statement: statement))
        }
    }

    /// Runs an `INSERT` and returns the new row's rowid.
    package func insert(_ sql: String, _ values: [Value]) throws(SQLiteError) -> Int64 {
        let statement = try prepare(sql)
        defer { sqlite3_reset(statement) }
        bind(statement, values)
        guard sqlite3_step(statement) == SQLITE_DONE else { throw lastFailure() }
        return sqlite3_last_insert_rowid(handle)
    }

    /// The current row of ``forEachRow(_:_:_:)``, valid only inside its body.
    package struct Row: ~Copyable {
        fileprivate let statement: OpaquePointer

        package func int(_ column: Int32) -> Int64 { sqlite3_column_int64(statement, column) }
        package func isNull(_ column: Int32) -> Bool { sqlite3_column_type(statement, column) == SQLITE_NULL }
        package func blob(_ column: Int32) -> [UInt8] { SQLiteConnection.blob(statement, column) }
    }

    private func bind(_ statement: OpaquePointer, _ values: [Value]) {
        for (index, value) in values.enumerated() {
            switch value {
            case .int(let number): sqlite3_bind_int64(statement, Int32(index + 1), number)
            case .text(var text):
                _ = text.withUTF8 { utf8 in
                    utf8.withMemoryRebound(to: CChar.self) {
                        feedback_bind_text(statement, Int32(index + 1), $0.baseAddress, Int32($0.count))
                    }
                }
            case .double(let number): sqlite3_bind_double(statement, Int32(index + 1), number)
            case .blob(let bytes):
                _ = bytes.withUnsafeBytes {
                    feedback_bind_blob(statement, Int32(index + 1), $0.baseAddress, Int32($0.count))
                }
            case .null: sqlite3_bind_null(statement, Int32(index + 1))
            }
        }
    }

    /// A text column, all its bytes (a NUL inside does not end it).
    private static func text(_ statement: OpaquePointer, _ column: Int32) -> String {
        guard let text = sqlite3_column_text(statement, column) else { return "" }
        let count = Int(sqlite3_column_bytes(statement, column))
        return String(decoding: UnsafeBufferPointer(start: text, count: count), as: UTF8.self)
    }

    private static func blob(_ statement: OpaquePointer, _ column: Int32) -> [UInt8] {
        let count = Int(sqlite3_column_bytes(statement, column))
        guard count > 0, let bytes = sqlite3_column_blob(statement, column) else { return [] }
        return Array(UnsafeRawBufferPointer(start: bytes, count: count))
    }

    private func prepare(_ sql: String) throws(SQLiteError) -> OpaquePointer {
        if let cached = statements[sql] { return cached }
        var statement: OpaquePointer?
        guard sqlite3_prepare_v2(handle, sql, -1, &statement, nil) == SQLITE_OK, let statement else {
            throw lastFailure()
        }
        statements[sql] = statement
        return statement
    }

    private func lastFailure() -> SQLiteError { failure(String(cString: sqlite3_errmsg(handle))) }

    private func failure(_ message: String) -> SQLiteError { SQLiteError(path: path, message: message) }
}
