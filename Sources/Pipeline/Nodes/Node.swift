/// One step of a pipeline: takes the previous step's items and returns its own.
///
/// ```swift
/// struct Truncate: Node {
///     var name: String { "postprocess.truncate" }
///     var kind: NodeKind { .postprocess }
///     let limit: Int
///     func process(_ context: RecommendContext, _ items: [Item]) async throws -> [Item] {
///         Array(items.prefix(limit))
///     }
/// }
/// ```
public protocol Node: Sendable {
    var name: String { get }
    var kind: NodeKind { get }
    func process(_ context: RecommendContext, _ items: [Item]) async throws -> [Item]
}
