/// reckit's `DomainError`: a code, a message and the module it came from.
///
/// ```swift
/// throw PipelineError(code: .invalidInput, message: "user id is empty", module: .feedback)
/// ```
public struct PipelineError: Error, Sendable, Hashable, CustomStringConvertible {
    public struct Code: RawRepresentable, Sendable, Hashable {
        public var rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }
        public static let invalidInput = Code(rawValue: "invalid_input")
        public static let nodeFailed = Code(rawValue: "node_failed")
        public static let unavailable = Code(rawValue: "unavailable")
    }

    public struct Module: RawRepresentable, Sendable, Hashable {
        public var rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }
        public static let pipeline = Module(rawValue: "pipeline")
        public static let feedback = Module(rawValue: "feedback")
    }

    public var code: Code
    public var message: String
    public var module: Module

    public init(code: Code, message: String, module: Module) {
        self.code = code
        self.message = message
        self.module = module
    }

    public var description: String { "[\(module.rawValue)] \(code.rawValue): \(message)" }
}
