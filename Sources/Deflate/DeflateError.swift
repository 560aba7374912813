/// A compression that failed, and why.
public struct DeflateError: Error, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}
