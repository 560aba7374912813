import Logging
import Synchronization

/// Logs each kind of problem at most once per interval, with the number of repeats it held back, so that an
/// outage producing a million failures produces a handful of log lines, not a million.
/// (swift-log has no rate limiting of its own.)
package final class RateLimitedLogger: Sendable {
    private struct Entry {
        var lastNanos: UInt64
        var suppressed: Int
    }

    package let logger: Logger
    private let intervalNanos: UInt64
    private let entries = Mutex<[String: Entry]>([:])

    package init(logger: Logger, interval: Duration = .seconds(1)) {
        self.logger = logger
        let (seconds, attoseconds) = interval.components
        self.intervalNanos = UInt64(seconds) * 1_000_000_000 + UInt64(attoseconds / 1_000_000_000)
    }

    package func warning(key: String, _ message: Logger.Message, metadata: Logger.Metadata = [:]) {
        emit(.warning, key: key, message, metadata: metadata)
    }

    package func error(key: String, _ message: Logger.Message, metadata: Logger.Metadata = [:]) {
        emit(.error, key: key, message, metadata: metadata)
    }

    private func emit(_ level: Logger.Level, key: String, _ message: Logger.Message, metadata: Logger.Metadata) {
        let now = MonotonicClock.nanoseconds()
        let suppressed: Int? = entries.withLock { entries in
            if let entry = entries[key], now &- entry.lastNanos < intervalNanos {
                entries[key]!.suppressed += 1
                return nil
            }
            let held = entries[key]?.suppressed ?? 0
            entries[key] = Entry(lastNanos: now, suppressed: 0)
            return held
        }
        guard let suppressed else { return }
        var metadata = metadata
        if suppressed > 0 { metadata["suppressed_since_last_log"] = "\(suppressed)" }
        logger.log(level: level, message, metadata: metadata)
    }
}
