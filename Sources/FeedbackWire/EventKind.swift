/// The event types the processor treats apart; any other type is counted in profiles by its name only.
///
/// ```swift
/// switch EventKind(event.type) {
/// case .impression: // held for attribution
/// case .click, .conversion: // joined to their impression
/// case .other: break
/// }
/// ```
public enum EventKind: UInt8, Sendable {
    case impression, click, conversion, other

    public init(_ type: String) {
        self =
            switch type {
            case "impression": .impression
            case "click": .click
            case "conversion": .conversion
            default: .other
            }
    }
}
