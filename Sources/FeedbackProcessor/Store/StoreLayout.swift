import FastCollections
import FeedbackWire
import Foundation
import SQLiteStore

/// The layout of the processor's store: the tables of a new store, and the migrations of older ones.
///
/// ```swift
/// try StoreLayout.prepare(connection)  // creates, migrates, or refuses with what to do
/// ```
enum StoreLayout {
    /// The layout of the store's tables (SQLite's `user_version`). Layouts 2 to 6 are migrated in place;
    /// older ones are refused with what to do. Layout 6 stores attribution segments deflated
    /// (`SegmentDeflate`, which still reads a layout-5 store's plain ones), layout 7 in a more compact
    /// segment layout (`AttributionState`, which still reads layout 6's), layout 8 adds the failed records: an
    /// older build refuses a newer store with that message rather than failing on a segment it cannot read.
    static let version: Int64 = 8

    /// Creates the tables of a new store, migrates a layout-2 to -7 store, refuses anything else.
    static func prepare(_ store: SQLiteConnection) throws {
        let hasTables = try store.queryInt("SELECT count(*) FROM sqlite_master WHERE name = 'offsets'", []) ?? 0 > 0
        let found = try store.queryInt("PRAGMA user_version", []) ?? 0
        if hasTables && (2...7).contains(found) {
            try store.transaction { () throws in
                if found == 2 { try migrateFromLayout2(store) }
                if found <= 3 { try migrateFromLayout3(store) }
                if found <= 4 { try migrateFromLayout4(store) }
                // Layouts 5 and 6: nothing else to change (their segments are read as they are).
                try store.execute(FailedStore.createTable)
                try store.execute("PRAGMA user_version=\(version)")
            }
            return
        }
        if hasTables && found != Self.version {
            throw ProcessorError.damagedState(
                """
                the store \(store.path) has layout \(found), this version uses \(version): move it \
                aside and process again (with Kafka, under a new consumer group)
                """)
        }
        // Tables without rowids, keyed as they are read: one B-tree per table (every B-tree is paid on every
        // insert). Seen ids are one row per second of event time (`SeenIDs`), so that old ids leave by range;
        // profiles one row per user (`StoredProfile`).
        // The attribution join state lives in memory and is kept here as segments (`AttributionState`).
        try store.execute(
            """
            PRAGMA user_version=\(version);
            CREATE TABLE IF NOT EXISTS offsets (partition INTEGER PRIMARY KEY, applied INTEGER NOT NULL,
                newest_ms INTEGER NOT NULL DEFAULT 0);
            CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;
            CREATE TABLE IF NOT EXISTS seen_seconds (second INTEGER PRIMARY KEY, count INTEGER NOT NULL,
                data BLOB NOT NULL);
            CREATE TABLE IF NOT EXISTS profiles (user_id TEXT PRIMARY KEY, data BLOB NOT NULL) WITHOUT ROWID;
            \(MetricsStore.createTable)
            CREATE TABLE IF NOT EXISTS attribution_segments (id INTEGER PRIMARY KEY, bound INTEGER NOT NULL,
                data BLOB NOT NULL);
            \(FailedStore.createTable)
            """)
    }

    /// Layout 2 kept seen ids keyed by id and the join state as rows (`pending`, `actions`): the ids are
    /// re-keyed by time, the rows become one segment each of impressions and actions (segment 0, which no
    /// batch uses). Profiles, metrics, offsets and counters keep their tables.
    private static func migrateFromLayout2(_ store: SQLiteConnection) throws {
        try store.execute(
            """
            CREATE TABLE seen_by_time (ts INTEGER, event_id TEXT, PRIMARY KEY (ts, event_id)) WITHOUT ROWID;
            INSERT OR IGNORE INTO seen_by_time (ts, event_id) SELECT ts, event_id FROM seen;
            DROP TABLE seen;
            ALTER TABLE seen_by_time RENAME TO seen;
            CREATE TABLE attribution_segments (id INTEGER PRIMARY KEY, bound INTEGER NOT NULL, data BLOB NOT NULL);
            """)
        let state = try AttributionState(store: store)
        state.begin(segment: 0)
        for row in try store.query(
            "SELECT event_id, request_id, user_id, device_id, item_id, scene, position, score, labels, ts FROM pending",
            [])
        {
            guard case .text(let eventID) = row[0], case .text(let requestID) = row[1], case .text(let user) = row[2],
                case .text(let device) = row[3], case .text(let item) = row[4], case .text(let scene) = row[5],
                case .int(let position) = row[6], case .text(let labels) = row[8], case .int(let time) = row[9]
            else { continue }
            let score: Double = if case .double(let value) = row[7] { value } else { 0 }
            state.add(
                AttributionState.Impression(
                    eventID: eventID, requestID: requestID, user: user, device: device, item: item, scene: scene,
                    position: position, score: score, labels: EventLabels(decodeLabels(labels)), timestampMs: time)
            )
        }
        for row in try store.query("SELECT event_id, type, request_id, user_id, item_id, ts, value FROM actions", []) {
            guard case .text(let eventID) = row[0], case .text(let type) = row[1], case .text(let requestID) = row[2],
                case .text(let user) = row[3], case .text(let item) = row[4], case .int(let time) = row[5]
            else { continue }
            let value: Double =
                switch row[6] {
                case .double(let value): value
                case .int(let value): Double(value)
                default: 0
                }
            state.add(
                AttributionState.Action(
                    eventID: eventID, type: type, requestID: requestID, user: user, item: item, timestampMs: time,
                    value: value))
        }
        try state.persist(to: store)
        try store.execute(
            """
            DROP TABLE pending;
            DROP TABLE actions;
            PRAGMA user_version=3;
            """)
    }

    /// Layout 3 kept seen ids as text: they are re-keyed by the hash of the id.
    private static func migrateFromLayout3(_ store: SQLiteConnection) throws {
        try store.execute(
            "CREATE TABLE seen_hashed (ts INTEGER, id_hash INTEGER, PRIMARY KEY (ts, id_hash)) WITHOUT ROWID;")
        var after: (ts: Int64, id: String) = (Int64.min, "")
        while true {  // a page at a time: the 24 h window can hold millions of ids
            let rows = try store.query(
                "SELECT ts, event_id FROM seen WHERE (ts, event_id) > (?, ?) ORDER BY ts, event_id LIMIT 10000",
                [.int(after.ts), .text(after.id)])
            guard !rows.isEmpty else { break }
            var hashed: [[SQLiteConnection.Value]] = []
            for row in rows {
                guard case .int(let time) = row[0], case .text(let id) = row[1] else { continue }
                hashed.append([.int(time), .int(EventIDHash.of(id))])
                after = (time, id)
            }
            _ = try store.runMany("INSERT OR IGNORE INTO seen_hashed (ts, id_hash)", rows: hashed)
        }
        try store.execute(
            """
            DROP TABLE seen;
            ALTER TABLE seen_hashed RENAME TO seen;
            PRAGMA user_version=4;
            """)
    }

    /// Layout 4 kept seen ids one row per event, and profiles as rows of four tables: the ids are gathered
    /// one row per second (`SeenIDs`), a profile one row per user (`StoredProfile`).
    private static func migrateFromLayout4(_ store: SQLiteConnection) throws {
        try store.execute(
            """
            CREATE TABLE seen_seconds (second INTEGER PRIMARY KEY, count INTEGER NOT NULL, data BLOB NOT NULL);
            CREATE TABLE profiles (user_id TEXT PRIMARY KEY, data BLOB NOT NULL) WITHOUT ROWID;
            """)
        try migrateProfilesFromLayout4(store)
        var after: (ts: Int64, hash: Int64) = (Int64.min, Int64.min)
        var seen = SeenIDs(origin: store.path)
        while true {  // a page at a time, written every million ids: the 24 h window can hold many millions
            let rows = try store.query(
                "SELECT ts, id_hash FROM seen WHERE (ts, id_hash) > (?, ?) ORDER BY ts, id_hash LIMIT 10000",
                [.int(after.ts), .int(after.hash)])
            guard !rows.isEmpty else { break }
            for row in rows {
                guard case .int(let time) = row[0], case .int(let hash) = row[1] else { continue }
                _ = try seen.insert(SeenIDs.Key(timestampMs: time, idHash: hash), from: store)
                after = (time, hash)
            }
            if seen.addedCount >= 1_000_000 {
                try seen.write(to: store)
                seen = SeenIDs(origin: store.path)
            }
        }
        try seen.write(to: store)
        try store.execute(
            """
            DROP TABLE seen;
            PRAGMA user_version=\(version);
            """)
    }

    private static func migrateProfilesFromLayout4(_ store: SQLiteConnection) throws {
        var after = ""
        while true {  // a page of users at a time
            let users = try store.query(
                "SELECT user_id, last_seen_ms FROM profile_seen WHERE user_id > ? ORDER BY user_id LIMIT 1000",
                [.text(after)])
            guard !users.isEmpty else { break }
            var rows: [[SQLiteConnection.Value]] = []
            for row in users {
                guard case .text(let user) = row[0], case .int(let lastSeen) = row[1] else { continue }
                after = user
                let counts = try store.query(
                    "SELECT type, count FROM profile_counts WHERE user_id = ? ORDER BY type", [.text(user)]
                ).compactMap { row -> (String, Int64)? in
                    guard case .text(let type) = row[0], case .int(let count) = row[1] else { return nil }
                    return (type, count)
                }
                let clicks = try store.query(
                    "SELECT event_id, item_id, ts FROM profile_clicks WHERE user_id = ? ORDER BY ts DESC, event_id DESC",
                    [.text(user)]
                ).compactMap { row -> StoredProfile.Click? in
                    guard case .text(let id) = row[0], case .text(let item) = row[1], case .int(let time) = row[2]
                    else { return nil }
                    return StoredProfile.Click(eventID: id, itemID: item, timestampMs: time)
                }
                let affinity = try store.query(
                    "SELECT feature, score, updated_ms FROM profile_affinity WHERE user_id = ? ORDER BY feature",
                    [.text(user)]
                ).compactMap { row -> StoredProfile.Affinity? in
                    guard case .text(let feature) = row[0], case .int(let updated) = row[2] else { return nil }
                    let score: Double =
                        switch row[1] {
                        case .double(let value): value
                        case .int(let value): Double(value)
                        default: 0
                        }
                    return StoredProfile.Affinity(feature: feature, score: score, updatedMs: updated)
                }
                let profile = StoredProfile(lastSeenMs: lastSeen, counts: counts, clicks: clicks, affinity: affinity)
                rows.append([.text(user), .blob(profile.encoded())])
            }
            _ = try store.runMany("INSERT INTO profiles (user_id, data)", rows: rows)
        }
        try store.execute(
            """
            DROP TABLE profile_counts;
            DROP TABLE profile_seen;
            DROP TABLE profile_clicks;
            DROP TABLE profile_affinity;
            """)
    }

    /// Labels as layout 2 stored them: a JSON object of strings.
    private static func decodeLabels(_ json: String) -> [String: String] {
        if let labels = try? EventJSONReader.stringObject(json) { return labels }
        return (try? JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: String]) ?? [:]
    }
}
