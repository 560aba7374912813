import FeedbackWire
import SQLiteStore

/// A processor failure, with what to do about it. A failed batch is rolled back and read again by the
/// next call; only ``configuration(_:)`` and ``damagedState(_:)`` need a person.
///
/// ```swift
/// do { try processor.processAvailable() } catch .sink(let reason) { log(reason) /* Redis down: retry */ }
/// ```
public enum ProcessorError: Error, Sendable, Hashable, CustomStringConvertible {
    /// A setting is out of range: the message says which and what to use.
    case configuration(String)
    /// The processor's store (SQLite) could not be read or written.
    case storage(String)
    /// The store holds state this build cannot read (damaged, or a layout it does not know).
    case damagedState(String)
    /// The source (local log, Kafka) could not be read, rewound or committed.
    case source(String)
    /// A profile or metrics sink (Redis, ClickHouse) refused a batch.
    case sink(String)
    /// The batch's training-sample files could not be written.
    case samples(String)
    /// The consumer group's assignment changed during the batch, which was rolled back and is read again:
    /// handled inside ``FeedbackProcessor/processBatch(timeout:)``, never thrown out of it.
    case rebalanced

    public var description: String {
        switch self {
        case .configuration(let text): "processor configuration: \(text)"
        case .storage(let text): "processor storage: \(text)"
        case .damagedState(let text): "processor state: \(text)"
        case .source(let text): "processor source: \(text)"
        case .sink(let text): "processor sink: \(text)"
        case .samples(let text): "processor samples: \(text)"
        case .rebalanced: "the consumer group rebalanced during the batch"
        }
    }

    /// `error` as a processor error: itself if it is one, else what it came from.
    init(_ error: any Error) {
        switch error {
        case let error as ProcessorError: self = error
        case let error as SQLiteError: self = .storage(error.description)
        case let error as WireError: self = .damagedState(error.description)
        default: self = .storage("\(error)")
        }
    }

    /// A sink's failure (other than a ``SinkRefusal``) as a processor error: a retryable ``sink(_:)``.
    init(sinkFailure error: any Error) {
        self = if let error = error as? ProcessorError { error } else { .sink("\(error)") }
    }

    /// Runs `body`, its failures as processor errors, those of unknown origin as `otherwise`.
    static func map<T>(
        _ otherwise: (String) -> ProcessorError = { .storage($0) }, _ body: () throws -> T
    ) throws(ProcessorError) -> T {
        do {
            return try body()
        } catch let error as ProcessorError {
            throw error
        } catch let error as SQLiteError {
            throw .storage(error.description)
        } catch let error as WireError {
            throw .damagedState(error.description)
        } catch {
            throw otherwise("\(error)")
        }
    }
}
