/// A failure of the local event log, with what to do about it.
public struct LocalLogError: Error, Sendable, Hashable, CustomStringConvertible {
    public enum Kind: Sendable, Hashable {
        /// The log holds `maxBytes` already and its overflow policy refuses new records.
        case full
        /// SQLite could not open, read or write the file.
        case storage
    }

    public var kind: Kind
    public var message: String

    public init(kind: Kind, message: String) {
        self.kind = kind
        self.message = message
    }

    public var description: String { message }
}
