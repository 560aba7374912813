import Synchronization

/// Label sets seen recently, so that events with equal labels share one dictionary: most impressions carry
/// one of a few recall sources, and those waiting for their attribution window then hold one storage
/// between them (~200 bytes saved each). Bounded; cleared when full. Safe from any thread: polls are
/// decoded on another thread than the one that loads the stored state.
///
/// ```swift
/// let labelSets = LabelSets()
/// let labels = labelSets.shared(["recall_source": "hot"])  // the same storage for every equal set
/// ```
final class LabelSets: Sendable {
    private let sets = Mutex<Set<[String: String]>>([])
    private static let limit = 4096

    /// `labels`, or an equal dictionary already held.
    func shared(_ labels: [String: String]) -> [String: String] {
        if labels.isEmpty { return [:] }
        return sets.withLock { sets in
            if let index = sets.firstIndex(of: labels) { return sets[index] }
            if sets.count >= Self.limit { sets.removeAll(keepingCapacity: true) }
            sets.insert(labels)
            return labels
        }
    }
}
