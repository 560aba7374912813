/// A failure of SQLite: which database and what SQLite said.
///
/// ```swift
/// do { try store.execute("VACUUM") } catch { print(error) }  // "SQLite feedback-data/x.sqlite: database is locked"
/// ```
package struct SQLiteError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The database file.
    package var path: String
    /// SQLite's message (or what could not be done).
    package var message: String

    package init(path: String, message: String) {
        self.path = path
        self.message = message
    }

    package var description: String { "SQLite \(path): \(message)" }
}
