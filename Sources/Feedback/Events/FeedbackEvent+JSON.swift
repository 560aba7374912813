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
        record(
            userID: event.userID, itemID: event.itemID, scene: event.scene, type: event.type.name,
            timestampMs: event.timestampMs, position: event.position, score: event.score,
            labels: event.labels, labelText: { $0 }, extras: event.extras, eventID: event.eventID,
            requestID: event.requestID, deviceID: event.deviceID, generator: &generator)
    }

    /// Writes exactly what `event(FeedbackEvent.impression(of:at:context:timestampMs:))` writes, straight
    /// from the item and the context: no intermediate event, no labels dictionary per item.
    func impression(
        of item: Item, at position: Int, context: RecommendContext, timestampMs: Int64,
        generator: inout some RandomNumberGenerator
    ) {
        record(
            userID: context.userID, itemID: item.id, scene: context.scene, type: "impression",
            timestampMs: timestampMs, position: position, score: item.score,
            labels: item.labels, labelText: \.value, extras: [:], eventID: nil, requestID: context.requestID,
            deviceID: context.deviceID, generator: &generator)
    }

    /// The labels are passed with how to write their values (rather than as a closure writing them, which
    /// captured — copied — the whole event).
    private func record<LabelValue>(
        userID: String, itemID: String, scene: String, type: String, timestampMs: Int64, position: Int,
        score: Double, labels: [String: LabelValue], labelText: (LabelValue) -> String,
        extras: [String: AttributeValue], eventID: String?,
        requestID: String, deviceID: String, generator: inout some RandomNumberGenerator
    ) {
        raw("{\"user_id\":")
        string(userID)
        raw(",\"item_id\":")
        string(itemID)
        raw(",\"scene\":")
        string(scene)
        raw(",\"type\":")
        string(type)
        raw(",\"timestamp\":")
        int(timestampMs.floorDiv(1000))
        raw(",\"position\":")
        int(Int64(position))
        raw(",\"score\":")
        double(score)
        raw(",\"labels\":")
        self.labels(labels, labelText)
        raw(",\"extras\":")
        object(extras)
        raw(",\"event_id\":")
        if let id = eventID {
            string(id)
        } else {
            byte(UInt8(ascii: "\""))
            fill(36) { out in
                TimeOrderedID.write(milliseconds: timestampMs, using: &generator) { index, value in
                    out[index] = value
                }
            }
            byte(UInt8(ascii: "\""))
        }
        raw(",\"request_id\":")
        string(requestID)
        raw(",\"device_id\":")
        string(deviceID)
        raw(",\"timestamp_ms\":")
        int(timestampMs)
        raw(",\"schema_version\":")
        int(Int64(FeedbackEvent.schemaVersion))
        byte(UInt8(ascii: "}"))
    }

    /// Labels with sorted keys, like Go; the usual zero to two labels are written without allocating.
    package func labels(_ labels: [String: String]) {
        self.labels(labels) { $0 }
    }

    /// Labels of any value type, written as the strings `text` gives.
    func labels<Value>(_ labels: [String: Value], _ text: (Value) -> String) {
        byte(UInt8(ascii: "{"))
        switch labels.count {
        case 0:
            break
        case 1:
            let (key, value) = labels.first!
            pair(key, text(value))
        case 2:
            let first = labels[labels.startIndex]
            let second = labels[labels.index(after: labels.startIndex)]
            let (low, high) = first.key < second.key ? (first, second) : (second, first)
            pair(low.key, text(low.value))
            byte(UInt8(ascii: ","))
            pair(high.key, text(high.value))
        default:
            for (index, element) in labels.sorted(by: { $0.key < $1.key }).enumerated() {
                if index > 0 { byte(UInt8(ascii: ",")) }
                pair(element.key, text(element.value))
            }
        }
        byte(UInt8(ascii: "}"))
    }

    private func pair(_ key: String, _ value: String) {
        string(key)
        byte(UInt8(ascii: ":"))
        string(value)
    }

    /// An object with sorted keys, like Go; up to two members are written without sorting (allocating).
    func object(_ object: [String: AttributeValue]) {
        byte(UInt8(ascii: "{"))
        switch object.count {
        case 0:
            break
        case 1:
            member(object[object.startIndex])
        case 2:
            let first = object[object.startIndex]
            let second = object[object.index(after: object.startIndex)]
            let (low, high) = first.key < second.key ? (first, second) : (second, first)
            member(low)
            byte(UInt8(ascii: ","))
            member(high)
        default:
            for (index, element) in object.sorted(by: { $0.key < $1.key }).enumerated() {
                if index > 0 { byte(UInt8(ascii: ",")) }
                member(element)
            }
        }
        byte(UInt8(ascii: "}"))
    }

    private func member(_ element: (key: String, value: AttributeValue)) {
        string(element.key)
        byte(UInt8(ascii: ":"))
        value(element.value)
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
