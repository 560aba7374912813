import SQLiteStore

/// The profiles table of the processor's store: one row per user, the encoded ``StoredProfile``.
///
/// ```swift
/// try ProfileStore.write(folded.rows, to: store)
/// let profile = try StoredProfile.read(user: "user_1", from: store)
/// ```
enum ProfileStore {
    /// Upserts these rows (user, encoded profile), many per statement, in key order (rows inserted in the
    /// B-tree's order land next to each other).
    static func write(_ rows: [(user: String, data: [UInt8])], to store: SQLiteConnection) throws(SQLiteError) {
        _ = try store.runMany(
            "INSERT INTO profiles (user_id, data)", "ON CONFLICT(user_id) DO UPDATE SET data = excluded.data",
            rows: rows.map { [.text($0.user), .blob($0.data)] })
    }
}
