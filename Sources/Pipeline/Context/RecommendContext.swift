/// Everything a pipeline run knows about the request it serves.
///
/// Every context carries a `requestID`: the feedback hook stamps it on the impressions of the run, and the
/// caller hands it to its client so that later clicks and conversions join back to those impressions.
///
/// ```swift
/// let context = RecommendContext(userID: "user_123", deviceID: "dev_9", scene: "feed")
/// let items = try await pipeline.run(context)
/// respond(items, requestID: context.requestID)
/// ```
public struct RecommendContext: Sendable {
    /// Identifies this request; a fresh time-ordered id unless the caller gives one.
    public var requestID: String
    /// The signed-in user; empty for anonymous traffic.
    public var userID: String
    /// The device; the fallback identity of anonymous users.
    public var deviceID: String
    /// Where the recommendations are shown ("feed", "detail", ...).
    public var scene: String
    /// User profile attributes (age, city, ...).
    public var attributes: [String: AttributeValue]
    /// Request-level labels (experiment bucket, ...).
    public var labels: [String: String]
    /// Request parameters (size, filters, ...).
    public var params: [String: AttributeValue]

    public init(
        requestID: String? = nil,
        userID: String = "",
        deviceID: String = "",
        scene: String = "",
        attributes: [String: AttributeValue] = [:],
        labels: [String: String] = [:],
        params: [String: AttributeValue] = [:]
    ) {
        self.requestID = requestID ?? TimeOrderedID.make()
        self.userID = userID
        self.deviceID = deviceID
        self.scene = scene
        self.attributes = attributes
        self.labels = labels
        self.params = params
    }
}
