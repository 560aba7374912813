import Foundation

/// Runs a blocking call (a librdkafka flush, a join) on its own OS thread and awaits its result, so that it
/// never holds one of Swift concurrency's cooperative threads (two on a 2-core machine).
package func onDedicatedThread<T: Sendable>(name: String, _ body: @escaping @Sendable () -> T) async -> T {
    await withCheckedContinuation { continuation in
        let thread = Thread { continuation.resume(returning: body()) }
        thread.name = name
        thread.start()
    }
}
