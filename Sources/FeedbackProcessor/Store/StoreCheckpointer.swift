import Dispatch
import FastCollections
import Feedback
import FeedbackWire
import SQLiteStore
import Synchronization

/// Copies the store's write-ahead log into its database file on a thread of its own, after a batch commits,
/// instead of inside the batch's `COMMIT`.
///
/// SQLite checkpoints on the commit that takes the log past 1,000 pages — every batch here, as a batch writes
/// thousands of profile rows: the processor's thread waited 20–30 ms per batch for the pages to be copied and
/// the database file synced, with the cores mostly idle meanwhile (a fifteenth of the wall time from Kafka).
/// The processor's connection turns automatic checkpoints off (`PRAGMA wal_autocheckpoint=0`) and calls
/// ``checkpointSoon()`` after each commit; this connection runs a `PASSIVE` checkpoint, which copies what no
/// reader still needs and waits for nobody, while the next batch runs. Durability is unchanged: a commit is
/// durable once the log is synced (`synchronous=FULL`), checkpointed or not.
///
/// ```swift
/// let checkpointer = StoreCheckpointer(path: "feedback-data/processor.sqlite", log: log)
/// try store.transaction { ... }
/// checkpointer.checkpointSoon()  // returns at once
/// checkpointer.close()  // waits for a checkpoint still running
/// ```
final class StoreCheckpointer: @unchecked Sendable {
    // @unchecked Sendable: `connection` is used only by blocks on `queue`, a serial queue; `running` is atomic.
    private let path: String
    private let log: RateLimitedLogger
    private let queue = DispatchQueue(label: "feedback.processor.checkpoint")
    private let running = Atomic<Bool>(false)
    private var connection: SQLiteConnection?

    init(path: String, log: RateLimitedLogger) {
        self.path = path
        self.log = log
    }

    /// Starts a checkpoint unless one is still running (the next commit's call then covers this one's pages).
    func checkpointSoon() {
        guard running.compareExchange(expected: false, desired: true, ordering: .acquiringAndReleasing).exchanged
        else { return }
        queue.async { [self] in
            defer { running.store(false, ordering: .releasing) }
            do {
                if connection == nil {
                    let opened = try SQLiteConnection(path: path)
                    try opened.execute("PRAGMA busy_timeout=10000;")
                    connection = opened
                }
                try connection?.execute("PRAGMA wal_checkpoint(PASSIVE);")
            } catch {
                // Nothing is lost: the log keeps the pages, and the next checkpoint (or the last connection to
                // close) copies them.
                log.warning(
                    key: "checkpoint", "store checkpoint failed; its write-ahead log grows until one succeeds",
                    metadata: ["error": "\(error)", "store": "\(path)"])
            }
        }
    }

    /// Waits for a checkpoint still running.
    func wait() {
        queue.sync {}
    }

    /// Waits for a checkpoint still running and closes the connection.
    func close() {
        queue.sync { connection = nil }
    }
}
