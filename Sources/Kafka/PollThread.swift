import CRdKafka
import Foundation
import Synchronization

/// A dedicated OS thread serving librdkafka's delivery reports, so that the blocking poll never occupies a
/// Swift concurrency thread (there are only two on a 2-core machine).
final class PollThread: Sendable {
    private let running = Atomic<Bool>(true)
    private let finished = DispatchSemaphore(value: 0)

    /// Calls `serve` (which waits a bounded time for work) in a loop until stopped.
    init(name: String, serve: @escaping @Sendable () -> Void) {
        let thread = Thread { [self] in
            while running.load(ordering: .relaxed) {
                serve()
            }
            finished.signal()
        }
        thread.name = name
        thread.start()
    }

    /// Stops polling and waits for the thread to end (at most one poll interval).
    func stop() {
        guard running.exchange(false, ordering: .acquiringAndReleasing) else { return }
        finished.wait()
    }
}
