import FeedbackLog
import Foundation
import TestSupport
import Testing

@testable import FastCollections
@testable import Feedback
@testable import FeedbackProcessor
@testable import FeedbackWire
@testable import SQLiteStore

/// The pieces the processor keeps its state with: seen ids, profiles, attribution segments and their codec.
@Suite struct StateStorageTests {
    /// Seen ids: a key is new once — within a batch and in every later one — whichever side of a second's
    /// edge (also before 1970) it falls; old seconds leave whole; a damaged row is an error naming the store.
    @Test func seenIdsAreNewOnceAcrossBatchesAndSecondEdges() throws {
        let path = temporaryPath("seen-ids") + ".sqlite"
        let store = try SQLiteConnection(path: path)
        try store.execute(
            "CREATE TABLE seen_seconds (second INTEGER PRIMARY KEY, count INTEGER NOT NULL, data BLOB NOT NULL)")
        let t0: Int64 = 1_704_067_200_000
        let times: [Int64] = [t0, t0 + 999, t0 + 1000, -1, -1000, -1001, 0]
        #expect(SeenIDs.second(of: -1) == -1 && SeenIDs.second(of: -1000) == -1 && SeenIDs.second(of: -1001) == -2)
        var first = SeenIDs(origin: path)
        for time in times {
            #expect(try first.insert(.init(timestampMs: time, idHash: 7), from: store))
            #expect(try !first.insert(.init(timestampMs: time, idHash: 7), from: store))
        }
        try first.write(to: store)
        #expect(try SeenIDs.count(in: store) == 7)
        var second = SeenIDs(origin: path)
        for time in times {
            #expect(try !second.insert(.init(timestampMs: time, idHash: 7), from: store))
            #expect(try second.insert(.init(timestampMs: time, idHash: -7), from: store))  // another id
            #expect(
                try second.insert(.init(timestampMs: time + 1, idHash: 7), from: store) == !times.contains(time + 1))
        }
        try second.write(to: store)
        #expect(try SeenIDs.count(in: store) == 18)
        // Seconds that ended before t0 + 1000 go; t0 + 1000 and t0 + 1001 stay.
        try SeenIDs.expire(before: t0 + 1000, in: store)
        #expect(try SeenIDs.count(in: store) == 3)
        var third = SeenIDs(origin: path)
        #expect(try third.insert(.init(timestampMs: t0, idHash: 7), from: store))
        #expect(try !third.insert(.init(timestampMs: t0 + 1001, idHash: 7), from: store))

        try store.execute("UPDATE seen_seconds SET data = substr(data, 1, 6)")
        var damaged = SeenIDs(origin: path)
        #expect {
            _ = try damaged.insert(.init(timestampMs: t0 + 1000, idHash: 1), from: store)
        } throws: { error in
            "\(error)".contains(path)
        }
    }

    /// A user with endless distinct categories and custom event types costs a bounded profile: the weakest
    /// affinity gives way to a new one, types past the cap are counted as `_other`.
    @Test func aProfileStaysBoundedWhateverTheDistinctFeaturesAndTypes() throws {
        var profile = StoredProfile()
        for index in 0..<2_000 {
            profile.record(
                "custom_\(index % 100)", at: Int64(index), click: nil, weight: index == 0 ? 1_000 : 1,
                features: ["category=c\(index)"], extraFeature: nil, halfLifeMs: 1e12, recentClicks: 4)
        }
        let user = profile.profile(user: "u", halfLifeMs: 1e12)
        #expect(user.affinity.count == StoredProfile.maxAffinities)
        #expect(user.affinity["category=c0"] != nil, "the strongest stays")
        #expect(user.affinity["category=c1999"] == 1, "the newest is held")
        #expect(user.counts.count == StoredProfile.maxTypes)
        #expect(user.counts.values.reduce(0, +) == 2_000 && user.counts["_other"] == 2_000 - 31 * 20)
    }

    /// A profile keeps its newest `recentClicks` clicks newest first (a click held once, an older one than
    /// all kept not at all), folds affinities in time, and reads back what it wrote; a damaged blob is an
    /// error naming the store.
    @Test func storedProfilesKeepTheNewestClicksAndRoundTrip() throws {
        var profile = StoredProfile()
        let clicks: [(Int64, String)] = [(5, "e5"), (3, "e3"), (9, "e9"), (5, "e6"), (5, "e5"), (1, "e1"), (7, "e7")]
        for (time, id) in clicks {
            profile.record(
                "click", at: time, click: .init(eventID: id, itemID: "item-\(id)", timestampMs: time), weight: 1,
                features: ["recall_source=hot"], extraFeature: time == 9 ? "category=books" : nil, halfLifeMs: 4,
                recentClicks: 4)
        }
        profile.record(
            "impression", at: 2, click: nil, weight: 0, features: [], extraFeature: nil, halfLifeMs: 4, recentClicks: 4)
        #expect(profile.clicks.map(\.eventID) == ["e9", "e7", "e6", "e5"])
        #expect(profile.lastSeenMs == 9)
        let read = try StoredProfile(decoding: profile.encoded(), origin: "test.sqlite")
        let user = profile.profile(user: "u", halfLifeMs: 4)
        #expect(read.profile(user: "u", halfLifeMs: 4) == user)
        #expect(user.counts == ["click": 7, "impression": 1])
        #expect(user.recentClicks == ["item-e9", "item-e7", "item-e6", "item-e5"])
        #expect(user.affinity["category=books"] == 1)
        let bytes = profile.encoded()
        #expect(throws: ProcessorError.self) {
            _ = try StoredProfile(decoding: Array(bytes.dropLast()), origin: "test.sqlite")
        }
        #expect(throws: ProcessorError.self) { _ = try StoredProfile(decoding: bytes + [0], origin: "test.sqlite") }
    }

    /// Segments (layout 2: times as differences, label sets by number) give back every field exactly:
    /// times out of order and at the extremes, positions negative, many label sets — owned ones too, past
    /// the interned — shared and not; a reference to a label set not written before is an error naming the
    /// store.
    @Test func segmentsGiveBackEveryFieldExactly() throws {
        let store = try SQLiteConnection(path: temporaryPath("segment-fields") + ".sqlite")
        try store.execute(
            "CREATE TABLE attribution_segments (id INTEGER PRIMARY KEY, bound INTEGER NOT NULL, data BLOB NOT NULL)")
        typealias State = AttributionState
        let (first, last) = (DecodedEvent.timeRange.lowerBound, DecodedEvent.timeRange.upperBound)
        let times: [Int64] = [5_000, 1_000, last, first, 0, -7, 1_704_067_200_000, 1_704_067_200_001]
        let sets = (0..<5).map { EventLabels(["recall_source": "s\($0 % 3)", "n": "\($0)"]) } + [EventLabels.empty]
        var impressions: [State.Impression] = []
        for (index, time) in times.enumerated() {
            for copy in 0..<3 {
                impressions.append(
                    State.Impression(
                        eventID: "i\(index)-\(copy)", requestID: "r\(index)", user: "u\(copy)", device: "d",
                        item: "item-\(copy)", scene: copy == 0 ? "" : "feed", position: Int64(copy) - 1,
                        score: Double(index) / 7, labels: sets[(index + copy) % sets.count], timestampMs: time))
            }
        }
        let actions = times.enumerated().map { index, time in
            State.Action(
                eventID: "a\(index)", type: index % 2 == 0 ? "click" : "conversion",
                requestID: index % 3 == 0 ? "" : "r",
                user: "u", item: "item", timestampMs: time, value: Double(index) * 1.5)
        }
        let state = try State(store: store)
        state.begin(segment: 1)
        for impression in impressions { state.add(impression) }
        for action in actions { state.add(action) }
        try state.persist(to: store)

        let loaded = try State(store: store)
        #expect(loaded.impressionCount == impressions.count && loaded.actionCount == actions.count)
        let closed = loaded.close(through: .max).map(\.impression)
        func fields(_ impression: State.Impression) -> String {
            "\(impression.eventID) \(impression.requestID) \(impression.user) \(impression.device) \(impression.item) "
                + "\(impression.scene) \(impression.position) \(impression.score) \(impression.labels.dictionary.sorted { $0.key < $1.key }) "
                + "\(impression.timestampMs)"
        }
        #expect(closed.map(fields).sorted() == impressions.map(fields).sorted())
        // Actions come back too: every one joins an impression of its request and item (or user and item).
        let century = Int64(100 * 366 * 86_400) * 1000
        let joined = impressions.flatMap { loaded.actions(joining: $0, windowMs: century) }.map(\.eventID)
        #expect(Set(joined).isSubset(of: Set(actions.map(\.eventID))))

        // A label set referred to before it was written: damaged.
        var writer = SegmentWriter(version: 2, capacity: 64)
        for field in ["i", "r", "u", "d", "A", "feed"] { writer.string(field) }
        writer.signed(0)
        writer.double(0)
        writer.count(3)  // the third label set of the segment: there is none
        writer.signed(1_000)
        try store.run("DELETE FROM attribution_segments", [])
        try store.run(
            "INSERT INTO attribution_segments (id, bound, data) VALUES (?, ?, ?)",
            [.int(9 << 1), .int(Int64.min), .blob(writer.bytes)])
        #expect {
            _ = try State(store: store)
        } throws: { error in
            "\(error)".contains(store.path) && "\(error)".contains("label set 3 of 0")
        }
    }

    /// The join state across batches and restarts: impressions close and actions expire by event time,
    /// whichever batch's segment holds them, and a state loaded from the store holds exactly what the one
    /// in memory held (nothing closed or expired comes back; segments emptied are deleted).
    @Test func attributionStateClosesAndExpiresAcrossSegmentsAndRestarts() throws {
        let store = try SQLiteConnection(path: temporaryPath("attribution") + ".sqlite")
        try store.execute(
            "CREATE TABLE attribution_segments (id INTEGER PRIMARY KEY, bound INTEGER NOT NULL, data BLOB NOT NULL)")
        typealias State = AttributionState
        func impression(_ id: String, _ time: Int64) -> State.Impression {
            State.Impression(
                eventID: id, requestID: "r-\(id)", user: "u", device: "d", item: "A", scene: "feed", position: 0,
                score: 0.5, labels: EventLabels(["recall_source": "hot"]), timestampMs: time)
        }
        func click(_ id: String, request: String, _ time: Int64) -> State.Action {
            State.Action(
                eventID: id, type: "click", requestID: request, user: "u", item: "A", timestampMs: time, value: 0)
        }
        let state = try State(store: store)
        state.begin(segment: 1)
        state.add(impression("i1", 1_000))
        state.add(impression("i2", 5_000))
        state.add(click("c1", request: "r-i1", 1_500))
        state.add(click("c0", request: "r-gone", 900))
        try state.persist(to: store)
        state.begin(segment: 2)  // a later batch: its members go to segment 2, closing cuts through both
        state.add(impression("i3", 2_000))
        state.add(click("c3", request: "r-i3", 2_000))
        #expect(state.close(through: 2_000).map(\.impression.eventID) == ["i1", "i3"])
        state.expireActions(before: 1_000)  // c0 only
        try state.persist(to: store)
        #expect(state.impressionCount == 1 && state.actionCount == 2)

        let loaded = try State(store: store)
        #expect(loaded.impressionCount == 1 && loaded.actionCount == 2)
        loaded.begin(segment: 3)
        loaded.expireActions(before: 2_000)  // c1 (segment 1) goes; c3 (segment 2, at 2,000) stays
        #expect(loaded.actionCount == 1)
        #expect(loaded.close(through: 4_999).isEmpty)
        let last = loaded.close(through: 5_000)
        #expect(last.map(\.impression.eventID) == ["i2"] && loaded.impressionCount == 0)
        try loaded.persist(to: store)
        // Segment 1 is empty now and deleted; segment 2 keeps c3 until it expires too.
        #expect(try store.queryInt("SELECT count(*) FROM attribution_segments WHERE id >> 1 = 1", []) == 0)
        let again = try State(store: store)
        #expect(again.impressionCount == 0 && again.actionCount == 1)
        again.begin(segment: 4)
        again.expireActions(before: 2_001)
        try again.persist(to: store)
        #expect(try store.queryInt("SELECT count(*) FROM attribution_segments", []) == 0)
    }

    /// A segment reads back what was written (integers, doubles by bit pattern, UTF-8 and empty strings,
    /// labels); one cut short or of another layout is an error naming the store, never a wrong value.
    @Test func segmentsRoundTripAndDamageIsAnError() throws {
        var writer = SegmentWriter(version: 1, capacity: 64)
        let labels = ["recall_source": "hot|ann", "类目": "书"]
        writer.string("evt_1")
        writer.string("")
        writer.string(String(repeating: "é", count: 200))  // a length over 127: two LEB128 bytes
        writer.int(-1_704_067_200_000)
        writer.double(0.1)
        writer.double(-.infinity)
        writer.labels(labels)
        let bytes = writer.bytes
        var reader = try SegmentReader(bytes, origin: "test.sqlite", version: 1)
        #expect(try reader.string() == "evt_1")
        #expect(try reader.string() == "")
        #expect(try reader.string() == String(repeating: "é", count: 200))
        #expect(try reader.int() == -1_704_067_200_000)
        #expect(try reader.double().bitPattern == (0.1).bitPattern)
        #expect(try reader.double() == -.infinity)
        #expect(try reader.labels() == labels)
        #expect(reader.isAtEnd)

        for cut in [1, 7, bytes.count / 2, bytes.count - 1] {
            var short = try SegmentReader(Array(bytes.prefix(cut)), origin: "test.sqlite", version: 1)
            #expect(throws: WireError.self) {
                _ = try short.string()
                _ = try short.string()
                _ = try short.string()
                _ = try short.int()
                _ = try short.double()
                _ = try short.double()
                _ = try short.labels()
            }
        }
        do {
            _ = try SegmentReader(bytes, origin: "test.sqlite", version: 2)
            Issue.record("a segment of another layout was read")
        } catch {
            #expect("\(error)".contains("test.sqlite: segment layout 1, expected 2"), "\(error)")
        }
    }

    /// Segments are stored deflated and read back exactly; a plain one (as stores kept them before) is read
    /// as it is; a damaged deflated one is an error naming the store, never a wrong value.
    @Test func segmentsAreDeflatedAndPlainOnesStillRead() throws {
        var generator = SystemRandomNumberGenerator()
        for size in [0, 1, 127, 128, 5_000, 300_000] {
            var writer = SegmentWriter(version: 1, capacity: size + 1)
            for index in 0..<size {
                // Ids repeat (as in a batch) with random bytes among them.
                writer.int16(index % 10 == 0 ? Int16.random(in: .min ... .max, using: &generator) : Int16(index % 50))
            }
            let segment = writer.bytes
            let blob = SegmentDeflate.deflated(segment)
            #expect(blob.first == SegmentDeflate.marker)
            #expect(try SegmentDeflate.inflated(blob, origin: "test.sqlite") == segment)
            #expect(try SegmentDeflate.inflated(segment, origin: "test.sqlite") == segment)  // plain: as it is
            if size == 300_000 { #expect(blob.count < segment.count / 2) }
            for damaged in [Array(blob.prefix(blob.count / 2)), Array(blob.prefix(2)), blob + [0]] where size > 0 {
                #expect(throws: ProcessorError.self) { _ = try SegmentDeflate.inflated(damaged, origin: "test.sqlite") }
            }
        }

        // A store whose segment was written plain, before segments were deflated, loads.
        let store = try SQLiteConnection(path: temporaryPath("plain-segment") + ".sqlite")
        try store.execute(
            "CREATE TABLE attribution_segments (id INTEGER PRIMARY KEY, bound INTEGER NOT NULL, data BLOB NOT NULL)")
        var writer = SegmentWriter(version: 1, capacity: 128)
        for field in ["i1", "r1", "u", "d", "A", "feed"] { writer.string(field) }
        writer.int(3)
        writer.double(0.5)
        writer.labels(["recall_source": "hot"])
        writer.int(1_000)
        try store.run(
            "INSERT INTO attribution_segments (id, bound, data) VALUES (?, ?, ?)",
            [.int(7 << 1), .int(Int64.min), .blob(writer.bytes)])
        let loaded = try AttributionState(store: store)
        #expect(loaded.impressionCount == 1)
        #expect(loaded.labels(request: "r1", item: "A", after: 0)?.dictionary == ["recall_source": "hot"])
    }
}
