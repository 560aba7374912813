import FeedbackWire

/// Reads the next poll from the source and decodes it on another thread while the processor applies the
/// previous one: the processor's own thread is the busy one, and reading records (the consumer's copies)
/// and their JSON were a quarter of its work. Nothing else is shared: the processor touches the source only
/// before starting a `PollAhead` and after ``wait()``, never while it runs.
///
/// ```swift
/// let ahead = PollAhead(source, max: 10_000)
/// try apply(currentRecords, currentEvents)
/// let (nextRecords, nextEvents) = try ahead.wait()
/// ```
struct PollAhead {
    typealias Poll = (records: [SourceRecord], events: [DecodedEvent])

    /// The source, lent to the background thread for one poll.
    private struct Lent: @unchecked Sendable {
        // @unchecked Sendable: used by one thread at a time — the processor starts the poll, then waits for it
        // before it touches the source again.
        let source: any FeedbackSource
    }

    private let work: BackgroundWork<Poll>

    /// Starts reading up to `max` records: those ready, or — none being ready — the first to arrive within
    /// `linger`. `retired` — a poll already applied, held by nothing else — is freed on the other thread
    /// too: freeing ten thousand records and their events was 5 % of the processor's own thread.
    init(_ source: any FeedbackSource, max: Int, linger: Duration = .zero, retiring retired: Poll? = nil) {
        let lent = Lent(source: source)
        work = BackgroundWork { [retired] in
            withExtendedLifetime(retired) {}
            let ready = try Self.poll(lent.source, max: max, timeout: .zero)
            guard ready.records.isEmpty, linger > .zero else { return ready }
            return try Self.poll(lent.source, max: max, timeout: linger)
        }
    }

    /// One poll of `source` and its events: decoded where the source's client holds the records if it can
    /// (``DecodingSource``), else from the records' payloads.
    static func poll(_ source: any FeedbackSource, max: Int, timeout: Duration) throws -> Poll {
        if let decoding = source as? any DecodingSource { return try decoding.pollDecoded(max: max, timeout: timeout) }
        let records = try source.poll(max: max, timeout: timeout)
        return (records, PollDecoding.decode(records))
    }

    /// The records read and their events, in order (``DecodedEvent/notAnEvent``: not a feedback event); throws what the poll threw.
    /// Blocks until the poll is done.
    func wait() throws -> Poll {
        try work.wait()
    }

    /// Waits for the poll whatever its outcome (which ``wait()`` still returns afterwards).
    func waitIgnoringErrors() {
        work.waitIgnoringErrors()
    }
}
