/// A processor failure, with what to do about it.
public enum ProcessorError: Error, CustomStringConvertible {
    case storage(String)
    case configuration(String)

    public var description: String {
        switch self {
        case .storage(let text): "processor storage: \(text)"
        case .configuration(let text): "processor configuration: \(text)"
        }
    }
}
