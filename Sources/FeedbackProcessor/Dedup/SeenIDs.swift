import FastCollections
import FeedbackWire
import SQLiteStore

/// The events a batch checks against the de-duplication window, and adds to it.
///
/// The store keeps every event applied within the window as its time and the hash of its id
/// (`EventIDHash`), one row per second of event time: the second's pairs in one blob. (One row per event
/// cost a B-tree insert each, a tenth of the processor's time.) A batch reads the row of each second it
/// touches once, checks and adds in memory, and writes every touched second back once before it commits;
/// a failed batch drops its `SeenIDs` with its transaction. Old seconds leave by range (`expire`).
///
/// This assumes events come roughly in event-time order within a partition, as the collector stamps them:
/// a batch reads every second it touches whole, so one whose events scatter over many seconds already
/// holding ids (a replay of an old stream mixed with new traffic) reads all of them.
///
/// ```swift
/// var seen = SeenIDs(origin: store.path)
/// if try seen.insert(.init(timestampMs: event.timestampMs, idHash: EventIDHash.of(event.eventID)), from: store) {
///     // first time: apply it
/// }
/// try seen.write(to: store)
/// ```
struct SeenIDs {
    /// An event as the store remembers it. A duplicate is the same event sent again: the same id at the
    /// same time.
    typealias Key = SeenKey

    /// Blob layout: a version byte, then per event its millisecond within the second (2 bytes) and its id
    /// hash (8 bytes).
    private static let layout: UInt8 = 1
    private let origin: String
    /// The rows read, by second (nil: the store had none).
    private var stored: [Int64: [UInt8]?] = [:]
    /// Every key of the seconds read, and every key added, one table per second (small enough to stay in
    /// the cache; one table for a batch's 100,000 keys was not).
    private var known: [Int64: SeenKeyTable] = [:]
    /// The table of the second most recent events fell in (most events follow one of the same second), out
    /// of `known` while current.
    private var current = SeenKeyTable(expected: 0)
    private var currentSecond = Int64.min
    /// The keys this batch added, in order.
    private var added: [Key] = []

    /// Events added by this batch.
    var addedCount: Int { added.count }

    init(origin: String) { self.origin = origin }

    /// The second of event time `timestampMs` falls in (rounded down, also before 1970).
    static func second(of timestampMs: Int64) -> Int64 {
        timestampMs >= 0 ? timestampMs / 1000 : (timestampMs - 999) / 1000
    }

    /// Adds `key` unless the store or this batch has it already; returns whether it was new.
    mutating func insert(_ key: Key, from store: SQLiteConnection) throws -> Bool {
        let second = Self.second(of: key.timestampMs)
        if second != currentSecond { try switchTo(second, from: store) }
        guard current.insert(key) else { return false }
        added.append(key)
        return true
    }

    private mutating func switchTo(_ second: Int64, from store: SQLiteConnection) throws {
        if currentSecond != .min { known[currentSecond] = current }
        current = known.removeValue(forKey: second) ?? SeenKeyTable(expected: current.keys)
        currentSecond = second
        if stored[second] == nil { try load(second, from: store) }
    }

    private mutating func load(_ second: Int64, from store: SQLiteConnection) throws {
        let row = try store.query("SELECT data FROM seen_seconds WHERE second = ?", [.int(second)]).first
        guard case .blob(let data)? = row?.first else {
            stored[second] = .some(nil)
            return
        }
        var reader = try SegmentReader(data, origin: origin, version: Self.layout)
        while !reader.isAtEnd {
            let millisecond = try reader.int16()
            _ = current.insert(Key(timestampMs: second * 1000 + Int64(millisecond), idHash: try reader.int()))
        }
        stored[second] = data
    }

    /// Writes back every second this batch added to: its stored events, then the new ones.
    func write(to store: SQLiteConnection) throws {
        // Grouped by run of one second (a dictionary update per key was a third of writing them).
        var bySecond: [Int64: [Key]] = [:]
        var start = added.startIndex
        while start < added.endIndex {
            let second = Self.second(of: added[start].timestampMs)
            var end = start + 1
            while end < added.endIndex, Self.second(of: added[end].timestampMs) == second { end += 1 }
            bySecond[second, default: []].append(contentsOf: added[start..<end])
            start = end
        }
        var rows: [[SQLiteConnection.Value]] = []
        for (second, keys) in bySecond.sorted(by: { $0.key < $1.key }) {
            let old = (stored[second] ?? nil) ?? []
            let storedCount = max(0, old.count - 1) / 10
            var writer = SegmentWriter(
                continuing: old, version: Self.layout, capacity: 1 + 10 * (storedCount + keys.count))
            for key in keys {
                writer.int16(Int16(key.timestampMs - second * 1000))
                writer.int(key.idHash)
            }
            rows.append([.int(second), .int(Int64(storedCount + keys.count)), .blob(writer.bytes)])
        }
        _ = try store.runMany(
            "INSERT INTO seen_seconds (second, count, data)",
            "ON CONFLICT(second) DO UPDATE SET count = excluded.count, data = excluded.data", rows: rows)
    }

    /// Forgets the seconds that ended before `timestampMs`.
    static func expire(before timestampMs: Int64, in store: SQLiteConnection) throws {
        try store.run("DELETE FROM seen_seconds WHERE second < ?", [.int(second(of: timestampMs))])
    }

    /// Events the store remembers (a test's way to see how far a processor got).
    static func count(in store: SQLiteConnection) throws -> Int64 {
        try store.queryInt("SELECT coalesce(sum(count), 0) FROM seen_seconds", []) ?? 0
    }
}
