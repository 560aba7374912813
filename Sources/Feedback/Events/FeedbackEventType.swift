/// What the user did with an item. The seed's six types, plus any custom one.
///
/// ```swift
/// let type: FeedbackEventType = .click
/// let share: FeedbackEventType = .custom("share")   // encoded as "share"
/// ```
public enum FeedbackEventType: Sendable, Hashable, CustomStringConvertible {
    case impression, click, conversion, skip, like, dislike
    /// Any other action; its name is written as the event's `type`. Must not be empty.
    case custom(String)

    /// The `type` string in the event JSON.
    public var name: String {
        switch self {
        case .impression: "impression"
        case .click: "click"
        case .conversion: "conversion"
        case .skip: "skip"
        case .like: "like"
        case .dislike: "dislike"
        case .custom(let name): name
        }
    }

    /// Parses a `type` string; unknown names become `.custom`.
    public init(name: String) {
        switch name {
        case "impression": self = .impression
        case "click": self = .click
        case "conversion": self = .conversion
        case "skip": self = .skip
        case "like": self = .like
        case "dislike": self = .dislike
        default: self = .custom(name)
        }
    }

    public var description: String { name }
}
