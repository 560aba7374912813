import CRdKafka
import Foundation
import Synchronization

/// A dedicated OS thread serving librdkafka's delivery reports (`rd_kafka_poll`), so that the blocking
/// poll never occupies a Swift concurrency thread (there are only two on a 2-core machine).
final class PollThread: @unchecked Sendable {
    // @unchecked Sendable: `handle` is a thread-safe rd_kafka_t; the rest is atomics and a semaphore.
    private let handle: OpaquePointer
    private let running = Atomic<Bool>(true)
    private let finished = DispatchSemaphore(value: 0)

    init(name: String, handle: OpaquePointer) {
        self.handle = handle
        let thread = Thread { [self] in
            while running.load(ordering: .relaxed) {
                rd_kafka_poll(self.handle, 100)
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
