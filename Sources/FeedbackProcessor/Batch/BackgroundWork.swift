import Dispatch
import Synchronization

/// Work run on another thread while the processor's own thread — the busy one — does the rest of a batch:
/// reading and decoding the next poll, writing the sample files, encoding the attribution state. ``wait()``
/// returns its result (or throws what it threw).
///
/// ```swift
/// let files = BackgroundWork { try SampleBatch(closed, level: 1).write(to: directory, part: part) }
/// defer { files.waitIgnoringErrors() }  // never left running
/// try writeTheRestOfTheBatch()
/// try files.wait()  // then commit
/// ```
final class BackgroundWork<Value: Sendable>: Sendable {
    private let done = DispatchSemaphore(value: 0)
    private let outcome = Mutex<Result<Value, any Error>?>(nil)

    /// Starts `work` on `queue` (by default any thread of the global pool).
    init(on queue: DispatchQueue = .global(qos: .userInitiated), _ work: @escaping @Sendable () throws -> Value) {
        queue.async { [self] in
            let result = Result { try work() }
            outcome.withLock { $0 = result }
            done.signal()
        }
    }

    /// Waits for the work; returns its result or throws what it threw.
    func wait() throws -> Value {
        try waitForOutcome().get()
    }

    /// Waits for the work whatever the outcome (on a path that is failing already).
    func waitIgnoringErrors() {
        _ = waitForOutcome()
    }

    private func waitForOutcome() -> Result<Value, any Error> {
        if let result = outcome.withLock({ $0 }) { return result }
        done.wait()
        return outcome.withLock { $0 }!
    }
}
