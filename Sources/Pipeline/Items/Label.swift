/// A label on an item: its value and the node that set it (reckit's `Label{Value, Source}`).
///
/// ```swift
/// item.labels["recall_source"] = Label(value: "hot|ann", source: "recall.merge")
/// ```
public struct Label: Sendable, Hashable {
    public var value: String
    public var source: String

    public init(value: String, source: String = "") {
        self.value = value
        self.source = source
    }
}
