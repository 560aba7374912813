import Feedback
import Testing

@testable import FeedbackWire

@Suite struct LabelSetTests {
    /// What the processor reads from a label set — its recall source, its JSON, its segment bytes — is what
    /// the dictionary gives, interned or not; equal sets compare equal either way.
    @Test func labelsReadTheSameInternedOrOwned() {
        func check(_ labels: EventLabels, _ dictionary: [String: String]) {
            #expect(labels.dictionary == dictionary)
            #expect(labels.recallSource == dictionary["recall_source"])
            let writer = JSONWriter()
            writer.labels(dictionary)
            #expect(labels.withJSON { Array($0) } == writer.bytes)
            var segment = SegmentWriter(version: 0, capacity: 64)
            segment.labels(dictionary)
            #expect(labels.withSegmentBytes { [0] + Array($0) } == segment.bytes)
            #expect(labels == EventLabels(dictionary))
            #expect(labels != EventLabels(dictionary.merging(["other": "x"]) { $1 }))
        }
        let hot = ["recall_source": "hot", "recall_type": "x\"y</z>"]
        check(EventLabels(hot), hot)
        check(EventLabels([:]), [:])
        check(EventLabels.empty, [:])
        #expect(EventLabels.empty.isEmpty && !EventLabels(hot).isEmpty)

        // Filled up (sets interned by other tests count too): later sets are owned, earlier ones stay interned.
        var filler = 0
        while EventLabels(["filler": "\(filler)"]).isInterned { filler += 1 }
        #expect(filler <= LabelSet.internedLimit)
        #expect(EventLabels(hot).isInterned)
        let late = ["recall_source": "late", "n": "1"]
        // Owned: held by its copies alone.
        let copy: EventLabels = { EventLabels(late) }()
        #expect(!copy.isInterned)
        check(copy, late)
    }
}
