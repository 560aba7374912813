import FeedbackLog
import Foundation

// Training samples: closing attribution windows into labelled impressions.
extension FeedbackProcessor {
    /// Emits a sample for every impression still waiting, whatever its window: for a final run over a
    /// finished stream (end of day, tests). Returns the number of samples written.
    @discardableResult
    public func closeAllWindows() throws -> Int {
        var count = 0
        try inTransaction { () throws(LocalLogError) in
            try attribution().begin(segment: try nextCounter("segment"))
            let closed = try closeWindows(through: Int64.max)
            try attribution().persist(to: store)
            count = closed.count
            do {
                try SampleBatch(closed, level: Int32(configuration.samplesCompressionLevel)).write(
                    to: configuration.samplesDirectory, part: Self.padded(try nextCounter("batch")))
            } catch {
                throw LocalLogError(kind: .storage, message: "\(error)")
            }
        }
        var statistics = ProcessorStatistics()
        statistics.samples = count
        counters.committed(statistics)
        return count
    }

    /// Takes every impression whose window closed (impression time ≤ `limit`) out of the state, with what joined it.
    func closeWindows(through limit: Int64) throws(LocalLogError) -> [ClosedImpression] {
        let window = configuration.attributionWindow.milliseconds
        let state = try attribution()
        var closed = state.close(through: limit)
        // Each closed impression joined where it lies (passing `closed[index].impression` copied it).
        closed.withUnsafeMutableBufferPointer { closed in
            for index in closed.indices {
                // The slots the impression a few ahead joins on, loaded while this one joins.
                if index + Self.prefetchDistance < closed.count {
                    state.prefetchActions(requestHash: closed[index + Self.prefetchDistance].impression.requestHash)
                }
                // Joined on request id + item; actions without a request id fall back to user + item. Both end
                // with the window, so that when a window is closed (which depends on batching) does not change
                // its sample.
                state.join(&closed[index], windowMs: window)
            }
        }
        return closed
    }

    /// `dt=YYYY-MM-DD/hour=HH` of a Unix time in milliseconds, in UTC. Integer arithmetic (Howard Hinnant's
    /// civil-from-days) rather than `Calendar`, which cost more than writing the sample.
    static func hourPartition(_ milliseconds: Int64) -> String {
        let seconds = milliseconds >= 0 ? milliseconds / 1000 : (milliseconds - 999) / 1000
        let days = seconds >= 0 ? seconds / 86_400 : (seconds - 86_399) / 86_400
        let hour = (seconds - days * 86_400) / 3600
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let monthIndex = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * monthIndex + 2) / 5 + 1
        let month = monthIndex < 10 ? monthIndex + 3 : monthIndex - 9
        let year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)
        func two(_ value: Int64) -> String { value < 10 ? "0\(value)" : "\(value)" }
        let yearText = String(year)
        let paddedYear = String(repeating: "0", count: max(0, 4 - yearText.count)) + yearText
        return "dt=\(paddedYear)-\(two(month))-\(two(day))/hour=\(two(hour))"
    }
}
