import FeedbackWire
import Kafka

/// A source whose client holds each record's bytes until it is read: events are decoded there, and only a
/// record the processor will refuse keeps a copy of its payload (for the failed records).
protocol DecodingSource: FeedbackSource {
    /// Up to `max` records and their events, as `poll` and ``PollDecoding/decode(_:)`` give them, except
    /// that a record holding a feedback event has an empty payload.
    func pollDecoded(max: Int, timeout: Duration) throws -> PollAhead.Poll
}

extension KafkaSource: DecodingSource {
    func pollDecoded(max: Int, timeout: Duration) throws -> PollAhead.Poll {
        // Events are built in the array's storage, allocated for the whole poll: at most this many per poll.
        let limit = Swift.min(max, 65_536)
        var records: [SourceRecord] = []
        records.reserveCapacity(limit)
        var labels = LabelCache()
        let events = [DecodedEvent](unsafeUninitializedCapacity: limit) { events, count in
            consumer.poll(max: limit, timeout: timeout) { partition, offset, timestampMs, payload in
                let event = DecodedEvent.decode(
                    json: payload.assumingMemoryBound(to: UInt8.self), fallbackID: "\(partition)-\(offset)",
                    labels: &labels, initializing: events.baseAddress! + count)
                count += 1
                records.append(
                    SourceRecord(
                        partition: partition, offset: offset,
                        // Kept for the failed records: a record that is no event, or one from the future.
                        payload: event && !events[count - 1].isAhead(of: timestampMs) ? [] : Array(payload),
                        arrivalMs: Swift.max(timestampMs, 0)))
            }
        }
        return (records, events)
    }
}
