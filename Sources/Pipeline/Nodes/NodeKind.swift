/// The stage a node belongs to.
public enum NodeKind: String, Sendable, Hashable, CaseIterable {
    case recall, filter, rank, rerank, postprocess
}
