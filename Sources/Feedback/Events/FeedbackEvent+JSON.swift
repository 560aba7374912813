import Pipeline

extension FeedbackEvent {
    /// The event's JSON, exactly as the collector sends it (a fresh `event_id` is assigned when it has none).
    ///
    /// ```swift
    /// let json = String(decoding: event.jsonBytes(), as: UTF8.self)
    /// ```
    public func jsonBytes() -> [UInt8] {
        let writer = JSONWriter(capacity: 512)
        var generator = SystemRandomNumberGenerator()
        writer.event(self, generator: &generator)
        return writer.bytes
    }
}

extension JSONWriter {
    /// Writes `event`: the seed's fields in the seed's order, then ours. Map keys are sorted, like Go's.
    func event(_ event: FeedbackEvent, generator: inout some RandomNumberGenerator) {
        raw("{\"user_id\":")
        string(event.userID)
        raw(",\"item_id\":")
        string(event.itemID)
        raw(",\"scene\":")
        string(event.scene)
        raw(",\"type\":")
        string(event.type.name)
        raw(",\"timestamp\":")
        int(event.timestampMs.floorDiv(1000))
        raw(",\"position\":")
        int(Int64(event.position))
        raw(",\"score\":")
        double(event.score)
        raw(",\"labels\":")
        labels(event.labels)
        raw(",\"extras\":")
        object(event.extras)
        raw(",\"event_id\":")
        if let id = event.eventID {
            string(id)
        } else {
            byte(UInt8(ascii: "\""))
            fill(36) { out in
                TimeOrderedID.write(milliseconds: event.timestampMs, using: &generator) { index, value in
                    out[index] = value
                }
            }
            byte(UInt8(ascii: "\""))
        }
        raw(",\"request_id\":")
        string(event.requestID)
        raw(",\"device_id\":")
        string(event.deviceID)
        raw(",\"timestamp_ms\":")
        int(event.timestampMs)
        raw(",\"schema_version\":")
        int(Int64(FeedbackEvent.schemaVersion))
        byte(UInt8(ascii: "}"))
    }

    /// Labels with sorted keys, like Go; the usual zero to two labels are written without allocating.
    package func labels(_ labels: [String: String]) {
        byte(UInt8(ascii: "{"))
        switch labels.count {
        case 0:
            break
        case 1:
            let (key, value) = labels.first!
            pair(key, value)
        case 2:
            let first = labels[labels.startIndex]
            let second = labels[labels.index(after: labels.startIndex)]
            let (low, high) = first.key < second.key ? (first, second) : (second, first)
            pair(low.key, low.value)
            byte(UInt8(ascii: ","))
            pair(high.key, high.value)
        default:
            for (index, element) in labels.sorted(by: { $0.key < $1.key }).enumerated() {
                if index > 0 { byte(UInt8(ascii: ",")) }
                pair(element.key, element.value)
            }
        }
        byte(UInt8(ascii: "}"))
    }

    private func pair(_ key: String, _ value: String) {
        string(key)
        byte(UInt8(ascii: ":"))
        string(value)
    }

    func object(_ object: [String: AttributeValue]) {
        byte(UInt8(ascii: "{"))
        if !object.isEmpty {
            for (index, element) in object.sorted(by: { $0.key < $1.key }).enumerated() {
                if index > 0 { byte(UInt8(ascii: ",")) }
                string(element.key)
                byte(UInt8(ascii: ":"))
                value(element.value)
            }
        }
        byte(UInt8(ascii: "}"))
    }

    func value(_ value: AttributeValue) {
        switch value {
        case .null: raw("null")
        case .bool(let flag): flag ? raw("true") : raw("false")
        case .int(let number): int(number)
        case .double(let number): double(number)
        case .string(let text): string(text)
        case .object(let nested): object(nested)
        case .array(let elements):
            byte(UInt8(ascii: "["))
            for (index, element) in elements.enumerated() {
                if index > 0 { byte(UInt8(ascii: ",")) }
                self.value(element)
            }
            byte(UInt8(ascii: "]"))
        }
    }
}

extension Int64 {
    /// Division rounding toward negative infinity (Unix seconds of a pre-1970 millisecond time).
    fileprivate func floorDiv(_ divisor: Int64) -> Int64 {
        let quotient = self / divisor
        return (self % divisor != 0 && (self < 0) != (divisor < 0)) ? quotient - 1 : quotient
    }
}
