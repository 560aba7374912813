/// Decides whether a failed node may be skipped. Returning true recovers: the run goes on with the items
/// the node received, as if it had not run.
///
/// ```swift
/// struct SkipFailedFilters: ErrorHook {
///     func nodeDidFail(_ node: any Node, context: RecommendContext, items: [Item], error: any Error) async -> Bool {
///         node.kind == .filter
///     }
/// }
/// ```
public protocol ErrorHook: Sendable {
    func nodeDidFail(_ node: any Node, context: RecommendContext, items: [Item], error: any Error) async -> Bool
}
