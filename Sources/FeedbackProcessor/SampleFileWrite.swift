import Dispatch
import Synchronization

/// Writes a batch's training samples — JSON lines, gzip, atomic fsynced files (``SampleBatch``) — on another
/// thread while the processor writes the batch's profiles, metrics, offsets and state to its store;
/// ``wait()`` returns once every file is durable, before the batch commits. The processor's own thread is
/// the busy one: this is a fifth of its work moved to the second core.
///
/// ```swift
/// let files = SampleFileWrite(closed, directory: "feedback-data/samples", part: "00000007", level: 1)
/// defer { files.waitIgnoringErrors() }  // never left running: a retry rewrites the same files
/// try writeTheRestOfTheBatch()
/// try files.wait()  // then commit
/// ```
final class SampleFileWrite: Sendable {
    private let done = DispatchSemaphore(value: 0)
    private let outcome = Mutex<Result<Void, any Error>?>(nil)

    init(_ closed: [ClosedImpression], directory: String, part: String, level: Int32) {
        guard !closed.isEmpty else {
            outcome.withLock { $0 = .success(()) }
            return
        }
        DispatchQueue.global(qos: .userInitiated).async { [self] in
            let result = Result { try SampleBatch(closed).write(to: directory, part: part, level: level) }
            outcome.withLock { $0 = result }
            done.signal()
        }
    }

    /// Waits for the files; throws what writing them threw.
    func wait() throws {
        try waitForOutcome().get()
    }

    /// Waits for the files whatever the outcome (on a path that is failing already).
    func waitIgnoringErrors() {
        _ = waitForOutcome()
    }

    private func waitForOutcome() -> Result<Void, any Error> {
        if let result = outcome.withLock({ $0 }) { return result }
        done.wait()
        return outcome.withLock { $0 }!
    }
}
