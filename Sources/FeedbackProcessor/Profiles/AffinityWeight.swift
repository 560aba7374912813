import FeedbackWire

/// What one event adds to its user's affinity for its recall sources and category, by type.
///
/// ```swift
/// AffinityWeight.of(.click, "click")  // 1
/// ```
enum AffinityWeight {
    /// Affinity added by one event of each type (impressions carry none).
    static func of(_ kind: EventKind, _ type: String) -> Double {
        switch kind {
        case .impression: 0
        case .click: 1
        case .conversion: 5
        case .other: of(other: type)
        }
    }

    private static func of(other type: String) -> Double {
        switch type {
        case "like": 2
        case "dislike": -2
        case "skip": -0.5
        default: 0
        }
    }
}
