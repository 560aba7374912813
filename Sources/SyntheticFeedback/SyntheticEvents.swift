import Feedback

/// Deterministic seed-format events (~330 bytes of JSON each): the same index gives the same event in every
/// run. `feedback produce` and every benchmark send these.
public enum SyntheticEvents {
    static let types: [FeedbackEventType] = [
        .impression, .impression, .impression, .impression, .impression, .impression, .click, .click, .conversion,
        .skip,
    ]
    static let scenes = ["feed", "detail", "search"]
    static let sources = ["hot", "ann", "personal", "fresh"]

    public static func event(_ index: Int, users: Int = 10_000) -> FeedbackEvent {
        let type = types[index % types.count]
        let source = sources[index % sources.count]
        return FeedbackEvent(
            type: type,
            itemID: "item_\((index &* 7919) % 100_000)",
            userID: "user_\(index % users)",
            deviceID: "device_\(index % users)",
            scene: scenes[index % scenes.count],
            requestID: "req_\(index / 10)",
            eventID: "evt_\(index)",
            timestampMs: 1_704_067_200_000 + Int64(index),
            position: index % 10,
            score: Double(index % 1000) / 1000,
            labels: ["recall_source": source, "recall_type": source],
            extras: type == .conversion ? ["amount": .double(99.0), "order_id": .string("order_\(index)")] : [:])
    }
}
