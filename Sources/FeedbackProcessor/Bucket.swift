/// The elements an index files under one key. Most keys of the attribution indexes hold one element (a
/// request shows an item once; a click is the only one on its request and item), which a bucket keeps
/// inline: an array — an allocation, and a free when the window closes — only for the second and later.
/// Order is not kept: every reader picks or sorts by time and id.
///
/// ```swift
/// var index: [String: Bucket<Impression>] = [:]
/// index.file(impression, under: "req_1")
/// index.unfile(impression, from: "req_1")  // the key goes with its last element
/// ```
struct Bucket<Element: AnyObject>: Sequence {
    private var first: Element?
    private var rest: [Element] = []

    var isEmpty: Bool { first == nil }

    mutating func append(_ element: Element) {
        if first == nil { first = element } else { rest.append(element) }
    }

    /// Removes `element` (the same instance), if held.
    mutating func remove(_ element: Element) {
        if first === element {
            first = rest.popLast()
        } else if let index = rest.firstIndex(where: { $0 === element }) {
            rest.swapAt(index, rest.count - 1)
            rest.removeLast()
        }
    }

    struct Iterator: IteratorProtocol {
        fileprivate let bucket: Bucket
        fileprivate var index = -1

        mutating func next() -> Element? {
            index += 1
            return index == 0 ? bucket.first : index - 1 < bucket.rest.count ? bucket.rest[index - 1] : nil
        }
    }

    func makeIterator() -> Iterator { Iterator(bucket: self) }
}

extension Dictionary {
    /// Adds `element` to the bucket under `key` (one look-up).
    mutating func file<Element>(_ element: Element, under key: Key) where Value == Bucket<Element> {
        self[key, default: Bucket()].append(element)
    }

    /// Removes `element` from the bucket under `key`, and the key once its bucket is empty (one look-up).
    mutating func unfile<Element>(_ element: Element, from key: Key) where Value == Bucket<Element> {
        guard let index = index(forKey: key) else { return }
        values[index].remove(element)
        if values[index].isEmpty { remove(at: index) }
    }
}
