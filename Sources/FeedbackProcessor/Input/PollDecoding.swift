import FeedbackWire

/// A poll's records decoded into events, one label cache shared by the poll (equal label objects are read
/// once). Runs on any thread.
///
/// ```swift
/// let events = PollDecoding.decode(records)  // events[i] is records[i]'s event, or .notAnEvent
/// ```
package enum PollDecoding {
    /// Each record's event (``DecodedEvent/notAnEvent``: not a feedback event), built in the array's storage.
    static func decode(_ records: [SourceRecord]) -> [DecodedEvent] {
        var labels = LabelCache()
        return [DecodedEvent](unsafeUninitializedCapacity: records.count) { events, count in
            for record in records {
                record.payload.withUnsafeBufferPointer { payload in
                    _ = DecodedEvent.decode(
                        json: payload, fallbackID: "\(record.partition)-\(record.offset)", labels: &labels,
                        initializing: events.baseAddress! + count)
                }
                count += 1
            }
        }
    }

    /// How many of `records` are feedback events, decoded as a poll's are: for `feedback-hook-bench decode`,
    /// which times the event reader alone.
    package static func eventCount(_ records: [SourceRecord]) -> Int {
        let events = decode(records)
        return events.withUnsafeBufferPointer { events in events.indices.count { events[$0].isEvent } }
    }
}
