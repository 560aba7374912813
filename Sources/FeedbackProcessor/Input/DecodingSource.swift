import FeedbackWire
import Kafka

/// A source whose client holds each record's bytes until it is read: events are decoded there, and only a
/// record that is not a feedback event keeps a copy of its payload (for the log that reports it).
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
            consumer.poll(max: limit, timeout: timeout) { partition, offset, payload in
                let event = DecodedEvent.decode(
                    json: payload.assumingMemoryBound(to: UInt8.self), fallbackID: "\(partition)-\(offset)",
                    labels: &labels, initializing: events.baseAddress! + count)
                count += 1
                records.append(SourceRecord(partition: partition, offset: offset, payload: event ? [] : Array(payload)))
            }
        }
        return (records, events)
    }
}
