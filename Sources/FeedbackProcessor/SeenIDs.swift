import FeedbackLog

/// The events a batch checks against the de-duplication window, and adds to it.
///
/// The store keeps every event applied within the window as its time and the hash of its id
/// (`EventIDHash`), one row per second of event time: the second's pairs in one blob. (One row per event
/// cost a B-tree insert each, a tenth of the processor's time.) A batch reads the row of each second it
/// touches once, checks and adds in memory, and writes every touched second back once before it commits;
/// a failed batch drops its `SeenIDs` with its transaction. Old seconds leave by range (`expire`).
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
    struct Key: Hashable {
        var timestampMs: Int64
        var idHash: Int64
    }

    /// One second's row: what the store held (a blob as `SegmentWriter` wrote it) and what this batch added.
    private struct Second {
        var stored: [UInt8]?
        var added: [Key] = []
    }

    /// Blob layout: a version byte, then per event its millisecond within the second (2 bytes) and its id
    /// hash (8 bytes).
    private static let layout: UInt8 = 1
    private let origin: String
    private var seconds: [Int64: Second] = [:]
    /// Every key of the seconds read, and every key added.
    private var known = Set<Key>()
    /// Events added by this batch.
    private(set) var addedCount = 0

    init(origin: String) { self.origin = origin }

    /// The second of event time `timestampMs` falls in (rounded down, also before 1970).
    static func second(of timestampMs: Int64) -> Int64 {
        timestampMs >= 0 ? timestampMs / 1000 : (timestampMs - 999) / 1000
    }

    /// Adds `key` unless the store or this batch has it already; returns whether it was new.
    mutating func insert(_ key: Key, from store: SQLiteConnection) throws(LocalLogError) -> Bool {
        let second = Self.second(of: key.timestampMs)
        if seconds[second] == nil { try load(second, from: store) }
        guard known.insert(key).inserted else { return false }
        seconds[second]!.added.append(key)
        addedCount += 1
        return true
    }

    private mutating func load(_ second: Int64, from store: SQLiteConnection) throws(LocalLogError) {
        guard
            case .blob(let data)? = try store.query("SELECT data FROM seen_seconds WHERE second = ?", [.int(second)])
                .first?.first
        else {
            seconds[second] = Second()
            return
        }
        var reader = try SegmentReader(data, origin: origin, version: Self.layout)
        while !reader.isAtEnd {
            let millisecond = try reader.int16()
            known.insert(Key(timestampMs: second * 1000 + Int64(millisecond), idHash: try reader.int()))
        }
        seconds[second] = Second(stored: data)
    }

    /// Writes back every second this batch added to: its stored events, then the new ones.
    func write(to store: SQLiteConnection) throws(LocalLogError) {
        var rows: [[SQLiteConnection.Value]] = []
        for (second, row) in seconds.sorted(by: { $0.key < $1.key }) where !row.added.isEmpty {
            let storedCount = ((row.stored?.count ?? 1) - 1) / 10
            var writer = SegmentWriter(
                continuing: row.stored ?? [], version: Self.layout, capacity: 1 + 10 * (storedCount + row.added.count))
            for key in row.added {
                writer.int16(Int16(key.timestampMs - second * 1000))
                writer.int(key.idHash)
            }
            rows.append([.int(second), .int(Int64(storedCount + row.added.count)), .blob(writer.bytes)])
        }
        _ = try store.runMany(
            "INSERT INTO seen_seconds (second, count, data)",
            "ON CONFLICT(second) DO UPDATE SET count = excluded.count, data = excluded.data", rows: rows)
    }

    /// Forgets the seconds that ended before `timestampMs`.
    static func expire(before timestampMs: Int64, in store: SQLiteConnection) throws(LocalLogError) {
        try store.run("DELETE FROM seen_seconds WHERE second < ?", [.int(second(of: timestampMs))])
    }

    /// Events the store remembers (a test's way to see how far a processor got).
    static func count(in store: SQLiteConnection) throws(LocalLogError) -> Int64 {
        try store.queryInt("SELECT coalesce(sum(count), 0) FROM seen_seconds", []) ?? 0
    }
}
