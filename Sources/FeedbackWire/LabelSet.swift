import Feedback
import Synchronization

/// One set of labels (`recall_source`, `recall_type`, ...), immutable, with what the processor reads from
/// it for every event prepared once: its recall source, its JSON object (as samples write it) and its
/// segment encoding (as the attribution state stores it).
///
/// ```swift
/// let set = LabelSet(["recall_source": "hot"])
/// set.recallSource  // "hot"
/// ```
package final class LabelSet: Sendable {
    package let dictionary: [String: String]
    /// `recall_source`, if the set has one.
    package let recallSource: String?
    /// The profile affinity features of `recallSource`: `recall_source=…` per channel (`hot|ann` is two).
    package let recallSourceFeatures: [String]
    /// The set as a JSON object, keys sorted.
    package let json: [UInt8]
    /// The set as ``SegmentWriter/labels(_:)-([String:String])`` writes it.
    package let segment: [UInt8]

    package init(_ dictionary: [String: String]) {
        self.dictionary = dictionary
        recallSource = dictionary["recall_source"]
        recallSourceFeatures = recallSource?.split(separator: "|").map { "recall_source=\($0)" } ?? []
        let writer = JSONWriter(capacity: 64)
        writer.labels(dictionary)
        json = writer.bytes
        var segmentWriter = SegmentWriter(version: 0, capacity: 64)
        segmentWriter.labels(dictionary)
        segment = Array(segmentWriter.bytes.dropFirst())
    }

    /// At most this many sets are interned, for the life of the process (a few kilobytes each at most).
    package static let internedLimit = 4096

    private static let interned = Mutex<[[String: String]: LabelSet]>([:])

    /// The interned set equal to `dictionary` (interned now if there is room); nil once the table is full.
    package static func intern(_ dictionary: [String: String]) -> LabelSet? {
        interned.withLock { table in
            if let set = table[dictionary] { return set }
            guard table.count < internedLimit else { return nil }
            let set = LabelSet(dictionary)
            table[dictionary] = set
            return set
        }
    }
}

/// An event's or an impression's labels: a ``LabelSet`` shared by everything that carries equal labels,
/// copied without reference counting when the set is interned.
///
/// Why: a few label sets (one per recall channel) are carried by nearly every event, and every copy of an
/// event retained and released the same dictionary from four threads at once (decoding, applying, folding,
/// writing samples), its reference count's cache line moving between the cores on every event: reference
/// counting was 15 % of the processor's time. Interned sets are never freed (at most
/// ``LabelSet/internedLimit`` of them, for the process's life), so they are held unretained; past the limit a
/// set is owned — reference counted — like any class instance.
///
/// ```swift
/// let labels = EventLabels(["recall_source": "hot"])
/// labels.recallSource  // "hot", read without touching a reference count
/// ```
package struct EventLabels: @unchecked Sendable, Equatable {
    // @unchecked Sendable: a LabelSet is immutable and Sendable; an unretained one is interned, never freed.
    @usableFromInline let reference: Unmanaged<LabelSet>
    /// The set when it is not interned (nil when it is: the intern table holds it).
    @usableFromInline let owner: LabelSet?

    package init(_ dictionary: [String: String]) {
        if let interned = LabelSet.intern(dictionary) {
            reference = .passUnretained(interned)
            owner = nil
        } else {
            let owned = LabelSet(dictionary)
            reference = .passUnretained(owned)
            owner = owned
        }
    }

    /// No labels.
    package static let empty = EventLabels([:])

    @inlinable package var dictionary: [String: String] { reference._withUnsafeGuaranteedRef { $0.dictionary } }
    @inlinable package var recallSource: String? { reference._withUnsafeGuaranteedRef { $0.recallSource } }
    /// `recall_source=…` per channel of `recallSource` (none without one), made once per set.
    @inlinable package var recallSourceFeatures: [String] {
        reference._withUnsafeGuaranteedRef { $0.recallSourceFeatures }
    }
    @inlinable package var isEmpty: Bool { reference._withUnsafeGuaranteedRef { $0.dictionary.isEmpty } }
    /// The set's identity: equal for copies of one `EventLabels` (equal sets may still differ when owned).
    @inlinable package var identity: ObjectIdentifier { reference._withUnsafeGuaranteedRef { ObjectIdentifier($0) } }
    /// Whether the set is interned (held unretained).
    @inlinable package var isInterned: Bool { owner == nil }

    /// The labels as a JSON object (keys sorted).
    @inlinable package func withJSON<Result>(_ body: (UnsafeBufferPointer<UInt8>) -> Result) -> Result {
        reference._withUnsafeGuaranteedRef { $0.json.withUnsafeBufferPointer(body) }
    }

    /// The labels as a segment stores them.
    @inlinable package func withSegmentBytes<Result>(_ body: (UnsafeBufferPointer<UInt8>) -> Result) -> Result {
        reference._withUnsafeGuaranteedRef { $0.segment.withUnsafeBufferPointer(body) }
    }

    package static func == (lhs: EventLabels, rhs: EventLabels) -> Bool {
        lhs.reference.toOpaque() == rhs.reference.toOpaque() || lhs.dictionary == rhs.dictionary
    }
}
