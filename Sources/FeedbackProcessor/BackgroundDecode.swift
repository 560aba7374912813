import Dispatch
import Synchronization

/// Decodes one poll's records on another thread while the processor applies the previous poll: reading JSON
/// is a sixth of the processor's time, and its own thread is the busy one. Nothing else is shared: the
/// records go in, the events come out once, through ``wait()``.
///
/// ```swift
/// let next = BackgroundDecode(nextRecords)
/// try apply(currentRecords, currentEvents)
/// let nextEvents = next.wait()
/// ```
final class BackgroundDecode: Sendable {
    private let done = DispatchSemaphore(value: 0)
    private let events = Mutex<[DecodedEvent?]>([])

    init(_ records: [SourceRecord]) {
        DispatchQueue.global(qos: .userInitiated).async { [self] in
            let decoded = FeedbackProcessor.decode(records)
            events.withLock { $0 = decoded }
            done.signal()
        }
    }

    /// The records' events, in order (nil: not a feedback event). Blocks until they are decoded; call once.
    func wait() -> [DecodedEvent?] {
        done.wait()
        return events.withLock { events in
            defer { events = [] }
            return events
        }
    }
}
