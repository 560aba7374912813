import Foundation
import TestSupport
import Testing

@testable import SQLiteStore

@Suite struct SQLiteConnectionTests {
    /// 300 rows go in statements of 256, 16, 16, 4, 4 and 4 rows; every row lands once, and RETURNING
    /// reports exactly the inserted ones (not the ignored duplicates).
    @Test func manyRowsPerStatementInsertEachRowOnce() throws {
        let store = try SQLiteConnection(path: temporaryPath("run-many") + ".sqlite")
        try store.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT NOT NULL)")
        let rows: [[SQLiteConnection.Value]] = (0..<300).map { [.int(Int64($0)), .text("n\($0)")] }
        let first = try store.runMany("INSERT OR IGNORE INTO t (id, name)", "RETURNING id", rows: rows)
        #expect(first.count == 300)
        #expect(try store.queryInt("SELECT count(*) FROM t", []) == 300)
        #expect(try store.queryInt("SELECT sum(id) FROM t", []) == Int64((0..<300).reduce(0, +)))
        // Half of them again, plus 7 new: only the new ones come back.
        let again = rows[150...] + (300..<307).map { [.int(Int64($0)), .text("n\($0)")] }
        let second = try store.runMany("INSERT OR IGNORE INTO t (id, name)", "RETURNING id", rows: Array(again))
        let returned = second.compactMap { row -> Int64? in if case .int(let id) = row[0] { id } else { nil } }
        #expect(returned.sorted() == Array(300..<307))
        #expect(try store.runMany("INSERT INTO t (id, name)", rows: []).isEmpty)
    }

    /// Text is bound and read with its length: `alice\0x` stays itself, never alice (SQLite's `-1` length
    /// would end it at the NUL); an empty text is empty, not NULL.
    /// Stores hold user ids: a new database and its write-ahead log are readable by their owner only.
    @Test func aNewDatabaseIsItsOwnersAlone() throws {
        let path = temporaryPath("mode") + ".sqlite"
        let connection = try SQLiteConnection(path: path)
        try connection.execute("PRAGMA journal_mode=WAL; CREATE TABLE t (x); INSERT INTO t VALUES (1);")
        for file in [path, path + "-wal"] {
            let mode = try FileManager.default.attributesOfItem(atPath: file)[.posixPermissions] as? NSNumber
            #expect(mode?.intValue == 0o600, "\(file): \(String(mode?.intValue ?? 0, radix: 8))")
        }
    }

    @Test func textWithANULIsKeptWhole() throws {
        let store = try SQLiteConnection(path: temporaryPath("nul") + ".sqlite")
        try store.execute("CREATE TABLE t (name TEXT PRIMARY KEY NOT NULL)")
        try store.run("INSERT INTO t (name) VALUES (?)", [.text("alice")])
        try store.run("INSERT INTO t (name) VALUES (?)", [.text("alice\u{0}x")])
        try store.run("INSERT INTO t (name) VALUES (?)", [.text("")])
        #expect(try store.queryInt("SELECT count(*) FROM t", []) == 3)
        #expect(
            try store.queryInt("SELECT length(CAST(name AS BLOB)) FROM t WHERE name = ?", [.text("alice\u{0}x")]) == 7)
        let names = try store.query("SELECT name FROM t ORDER BY name", []).map { row in
            if case .text(let name) = row[0] { name } else { "?" }
        }
        #expect(names == ["", "alice", "alice\u{0}x"])
    }
}
