import Pipeline

extension FeedbackCollector {
    /// Records a click on `itemID`, shown at `position` in the response identified by `context.requestID`.
    ///
    /// ```swift
    /// let context = RecommendContext(requestID: requestIDFromClient, userID: "user_123", scene: "feed")
    /// try collector.recordClick(itemID: "item_456", position: 2, context: context)
    /// ```
    public func recordClick(
        itemID: String, position: Int, context: RecommendContext, extras: [String: AttributeValue] = [:]
    ) throws(FeedbackError) {
        try record(.click, itemID: itemID, context: context, position: position, extras: extras)
    }

    /// Records a conversion (purchase, sign-up) of `itemID`, with details such as amount and order id.
    ///
    /// ```swift
    /// try collector.recordConversion(
    ///     itemID: "item_456", context: context, extras: ["amount": 99.0, "order_id": "order_123"])
    /// ```
    public func recordConversion(
        itemID: String, context: RecommendContext, position: Int = 0, extras: [String: AttributeValue] = [:]
    ) throws(FeedbackError) {
        try record(.conversion, itemID: itemID, context: context, position: position, extras: extras)
    }

    /// Records any event type for `itemID` in `context` (user, device, scene, request id).
    public func record(
        _ type: FeedbackEventType, itemID: String, context: RecommendContext, position: Int = 0,
        score: Double = 0, labels: [String: String] = [:], extras: [String: AttributeValue] = [:]
    ) throws(FeedbackError) {
        try record(
            FeedbackEvent(
                type: type, itemID: itemID, userID: context.userID, deviceID: context.deviceID,
                scene: context.scene, requestID: context.requestID, position: position, score: score,
                labels: labels, extras: extras))
    }
}
