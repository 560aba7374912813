import Feedback

/// An impression whose attribution window has closed, with the clicks and conversions that joined it: what
/// its training sample says.
struct ClosedImpression: Sendable {
    let impression: AttributionState.Impression
    var clicks = 0
    /// The first click's time; nil without clicks.
    var firstClickMs: Int64?
    var conversions = 0
    var conversionValue = 0.0

    init(impression: AttributionState.Impression) {
        self.impression = impression
    }

    /// Counts a click or conversion that joined the impression (any other action counts for nothing).
    mutating func count(_ action: AttributionState.Action) {
        switch action.kind {
        case .click:
            clicks += 1
            firstClickMs = min(firstClickMs ?? action.timestampMs, action.timestampMs)
        case .conversion:
            conversions += 1
            conversionValue += action.value
        case .impression, .other: break
        }
    }

    /// Writes the sample's JSON line: keys in sorted order, written with the collector's JSON writer
    /// (Foundation's sortedKeys collates through ICU and was half of the processor's time). Constant runs
    /// between values are one `raw` each (a call into the writer's module costs about as much as the copy).
    func writeSample(to writer: JSONWriter) {
        writer.raw("{\"click_ts_ms\":")
        if let firstClickMs { writer.int(firstClickMs) } else { writer.raw("null") }
        writer.raw(clicks > 0 ? ",\"clicked\":true,\"conversion_value\":" : ",\"clicked\":false,\"conversion_value\":")
        writer.double(conversionValue)
        writer.raw(conversions > 0 ? ",\"converted\":true,\"device_id\":" : ",\"converted\":false,\"device_id\":")
        writer.string(impression.device)
        writer.raw(",\"impression_id\":")
        writer.string(impression.eventID)
        writer.raw(",\"impression_ts_ms\":")
        writer.int(impression.timestampMs)
        writer.raw(",\"item_id\":")
        writer.string(impression.item)
        writer.raw(clicks > 0 ? ",\"label\":1,\"labels\":" : ",\"label\":0,\"labels\":")
        impression.labels.withJSON { writer.append($0) }
        writer.raw(",\"position\":")
        writer.int(impression.position)
        writer.raw(",\"request_id\":")
        writer.string(impression.requestID)
        writer.raw(",\"scene\":")
        writer.string(impression.scene)
        writer.raw(",\"score\":")
        writer.double(impression.score)
        writer.raw(",\"user_id\":")
        writer.string(impression.user)
        writer.raw("}\n")
    }
}
