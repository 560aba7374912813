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
}
