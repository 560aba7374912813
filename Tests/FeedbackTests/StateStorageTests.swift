import FeedbackLog
import Foundation
import Testing

@testable import FeedbackProcessor

/// The pieces the processor keeps its state with: multi-row statements and the segment codec.
@Suite struct StateStorageTests {
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

    /// A segment reads back what was written (integers, doubles by bit pattern, UTF-8 and empty strings,
    /// labels); one cut short or of another layout is an error naming the store, never a wrong value.
    @Test func segmentsRoundTripAndDamageIsAnError() throws {
        var writer = SegmentWriter(version: 1, capacity: 64)
        let labels = ["recall_source": "hot|ann", "类目": "书"]
        writer.string("evt_1")
        writer.string("")
        writer.string(String(repeating: "é", count: 200))  // a length over 127: two LEB128 bytes
        writer.int(-1_704_067_200_000)
        writer.double(0.1)
        writer.double(-.infinity)
        writer.labels(labels)
        let bytes = writer.bytes
        var reader = try SegmentReader(bytes, origin: "test.sqlite", version: 1)
        #expect(try reader.string() == "evt_1")
        #expect(try reader.string() == "")
        #expect(try reader.string() == String(repeating: "é", count: 200))
        #expect(try reader.int() == -1_704_067_200_000)
        #expect(try reader.double().bitPattern == (0.1).bitPattern)
        #expect(try reader.double() == -.infinity)
        #expect(try reader.labels() == labels)
        #expect(reader.isAtEnd)

        for cut in [1, 7, bytes.count / 2, bytes.count - 1] {
            var short = try SegmentReader(Array(bytes.prefix(cut)), origin: "test.sqlite", version: 1)
            #expect(throws: LocalLogError.self) {
                _ = try short.string()
                _ = try short.string()
                _ = try short.string()
                _ = try short.int()
                _ = try short.double()
                _ = try short.double()
                _ = try short.labels()
            }
        }
        do {
            _ = try SegmentReader(bytes, origin: "test.sqlite", version: 2)
            Issue.record("a segment of another layout was read")
        } catch {
            #expect("\(error)".contains("test.sqlite: segment layout 1, expected 2"), "\(error)")
        }
    }
}
