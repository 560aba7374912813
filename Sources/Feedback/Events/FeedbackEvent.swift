import Pipeline

/// One feedback event: a user's impression of, or action on, one item.
///
/// Its JSON keeps the seed's fields and order (`user_id, item_id, scene, type, timestamp, position, score,
/// labels, extras`) and adds `event_id, request_id, device_id, timestamp_ms, schema_version`.
///
/// ```swift
/// let click = FeedbackEvent(
///     type: .click, itemID: "item_456", userID: "user_123", scene: "feed",
///     requestID: context.requestID, position: 3)
/// try collector.record(click)
/// ```
public struct FeedbackEvent: Sendable, Hashable {
    /// The version of the JSON layout written by this library (the seed's layout is version 1).
    public static let schemaVersion = 2

    /// Unique id for de-duplication downstream. Nil: the collector assigns a fresh time-ordered id.
    public var eventID: String?
    /// The request whose response showed the item (joins clicks to impressions). May be empty.
    public var requestID: String
    public var userID: String
    public var deviceID: String
    public var itemID: String
    public var scene: String
    public var type: FeedbackEventType
    /// Event time, milliseconds since the Unix epoch (the JSON also carries seconds as `timestamp`).
    public var timestampMs: Int64
    /// 0-based rank of the item in the response.
    public var position: Int
    public var score: Double
    public var labels: [String: String]
    public var extras: [String: AttributeValue]

    public init(
        type: FeedbackEventType,
        itemID: String,
        userID: String = "",
        deviceID: String = "",
        scene: String = "",
        requestID: String = "",
        eventID: String? = nil,
        timestampMs: Int64 = TimeOrderedID.currentMilliseconds(),
        position: Int = 0,
        score: Double = 0,
        labels: [String: String] = [:],
        extras: [String: AttributeValue] = [:]
    ) {
        self.eventID = eventID
        self.requestID = requestID
        self.userID = userID
        self.deviceID = deviceID
        self.itemID = itemID
        self.scene = scene
        self.type = type
        self.timestampMs = timestampMs
        self.position = position
        self.score = score
        self.labels = labels
        self.extras = extras
    }

    /// The Kafka message key: the user id, else the device id, else none (never an empty key, which would
    /// send all anonymous traffic to one partition).
    public var partitionKey: String? { Self.partitionKey(userID: userID, deviceID: deviceID) }

    static func partitionKey(userID: String, deviceID: String) -> String? {
        if !userID.isEmpty { return userID }
        if !deviceID.isEmpty { return deviceID }
        return nil
    }

    /// The impression of `item` shown at `position` in the response to `context`.
    public static func impression(
        of item: Item, at position: Int, context: RecommendContext, timestampMs: Int64
    ) -> FeedbackEvent {
        var labels: [String: String] = [:]
        labels.reserveCapacity(item.labels.count)
        for (key, label) in item.labels { labels[key] = label.value }
        return FeedbackEvent(
            type: .impression, itemID: item.id, userID: context.userID, deviceID: context.deviceID,
            scene: context.scene, requestID: context.requestID, timestampMs: timestampMs, position: position,
            score: item.score, labels: labels)
    }

    /// Checks what the collector needs; the error says what to fix.
    public func validate() throws(FeedbackError) {
        if itemID.isEmpty {
            throw .invalidEvent("item id is empty: set itemID to the id of the item the user saw or acted on")
        }
        if case .custom(let name) = type, name.isEmpty {
            throw .invalidEvent("custom event type has an empty name: use .custom(\"share\") or a built-in type")
        }
        if position < 0 {
            throw .invalidEvent("position is \(position): use the item's 0-based rank in the response")
        }
        // The wire format's limits (``EventWireFormat/Limits``), which every reader enforces too.
        typealias Limits = EventWireFormat.Limits
        func check(_ value: String, _ field: String) throws(FeedbackError) {
            if let problem = Limits.problem(id: value, field: field) { throw .invalidEvent(problem) }
        }
        try check(itemID, EventWireFormat.itemID)
        try check(userID, EventWireFormat.userID)
        try check(deviceID, EventWireFormat.deviceID)
        try check(requestID, EventWireFormat.requestID)
        try check(eventID ?? "", EventWireFormat.eventID)
        try check(scene, EventWireFormat.scene)
        if case .custom(let name) = type { try check(name, EventWireFormat.type) }
        if !EventWireFormat.timeRange.contains(timestampMs) {
            throw .invalidEvent(
                "timestampMs \(timestampMs) is outside the years 1 to 9999: use milliseconds since the Unix epoch")
        }
        if labels.count > Limits.maxLabels {
            throw .invalidEvent("\(labels.count) labels: at most \(Limits.maxLabels)")
        }
        for (name, value) in labels
        where name.utf8.count > Limits.maxLabelBytes || value.utf8.count > Limits.maxLabelBytes {
            throw .invalidEvent("label \(name.prefix(40)) is longer than \(Limits.maxLabelBytes) bytes")
        }
        switch extras[EventWireFormat.amount] {
        case .double(let amount):
            if let problem = Limits.problem(amount: amount) { throw .invalidEvent(problem) }
        case .int(let amount):
            if let problem = Limits.problem(amount: Double(amount)) { throw .invalidEvent(problem) }
        default: break
        }
        for value in extras.values where value.depth + 1 >= Limits.maxDepth {
            throw .invalidEvent("extras nest deeper than \(Limits.maxDepth - 2) levels")
        }
    }
}

extension RecommendContext {
    /// The key of the context's impressions (see ``FeedbackEvent/partitionKey``).
    var partitionKey: String? { FeedbackEvent.partitionKey(userID: userID, deviceID: deviceID) }
}

extension FeedbackEvent {
    /// About how many bytes the event holds and will encode to: its strings and extras plus a fixed part.
    /// What the collector's buffer counts against ``FeedbackCollector/Configuration/maxBufferedBytes``.
    var approximateBytes: Int {
        var bytes = 160 + itemID.utf8.count + userID.utf8.count + deviceID.utf8.count + requestID.utf8.count
        bytes += (eventID?.utf8.count ?? 0) + scene.utf8.count
        for (name, value) in labels { bytes += name.utf8.count + value.utf8.count + 8 }
        for (name, value) in extras { bytes += name.utf8.count + value.approximateBytes + 8 }
        return bytes
    }
}

extension AttributeValue {
    /// About how many bytes the value encodes to (strings by their UTF-8 length).
    var approximateBytes: Int {
        switch self {
        case .null, .bool: 5
        case .int, .double: 24
        case .string(let text): text.utf8.count + 2
        case .array(let values): values.reduce(2) { $0 + $1.approximateBytes + 1 }
        case .object(let values): values.reduce(2) { $0 + $1.key.utf8.count + $1.value.approximateBytes + 4 }
        }
    }

    /// Levels of arrays and objects in the value (0 for a scalar); stops counting past the wire format's limit,
    /// so a hostile value costs no more than that.
    var depth: Int {
        func depth(_ value: AttributeValue, _ level: Int) -> Int {
            guard level < EventWireFormat.Limits.maxDepth else { return level }
            switch value {
            case .array(let values): return values.reduce(level + 1) { max($0, depth($1, level + 1)) }
            case .object(let values): return values.values.reduce(level + 1) { max($0, depth($1, level + 1)) }
            default: return level
            }
        }
        return depth(self, 0)
    }
}
