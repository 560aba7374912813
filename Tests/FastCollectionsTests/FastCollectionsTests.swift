import Testing

@testable import FastCollections
@testable import Feedback

@Suite struct FastCollectionsTests {

    /// The attribution indexes' table against a reference: random inserts and removals with few distinct
    /// hashes (long shared probe runs, several handles per hash, wrapping around the end, hashes alike in
    /// their low 32 bits), growing and shrinking; every hash gives back exactly the handles filed under it.
    @Test func pairIndexHoldsExactlyWhatWasFiledUnderEachHash() {
        var index = PairIndex()
        var reference: [UInt64: [Int32]] = [:]
        var generator = SystemRandomNumberGenerator()
        let hashes: [UInt64] = (1...40).map {
            switch $0 % 4 {
            case 0: UInt64.max - UInt64($0)
            case 1: UInt64($0) << 32  // low 32 bits 0
            default: UInt64($0)
            }
        }
        // Sharing the low 32 bits: forEach may give back another hash's handles too (callers compare strings).
        func lowBits(_ hash: UInt64) -> UInt32 { max(1, UInt32(truncatingIfNeeded: hash)) }
        var next: Int32 = 0
        for round in 0..<6_000 {
            let hash = hashes[Int.random(in: 0..<hashes.count, using: &generator)]
            // Mostly inserts for the first half (past 1,024 slots), mostly removals after (shrinking again).
            if Double.random(in: 0..<1, using: &generator) < (round < 3_000 ? 0.7 : 0.3) {
                index.insert(next, hash: hash)
                reference[hash, default: []].append(next)
                next += 1
            } else if let count = reference[hash]?.count, count > 0 {
                let position = Int.random(in: 0..<count, using: &generator)
                index.remove(reference[hash]![position], hash: hash)
                reference[hash]!.remove(at: position)
            }
            if round % 499 == 0 || round == 5_999 {
                for hash in hashes {
                    var found: [Int32] = []
                    index.forEach(hash: hash) { found.append($0) }
                    let expected = reference.filter { lowBits($0.key) == lowBits(hash) }.values.flatMap { $0 }
                    #expect(found.sorted() == expected.sorted(), "round \(round)")
                }
                #expect(index.count == reference.values.reduce(0) { $0 + $1.count })
            }
        }
        index.remove(-1, hash: hashes[0])  // not filed: nothing happens
        #expect(index.count == reference.values.reduce(0) { $0 + $1.count })
        #expect(PairHash.of("ab", "c") != PairHash.of("a", "bc") && PairHash.of("", "") != 0)
        #expect(PairHash.of("req_1", "item_9") == PairHash.of("req_1", "item_9"))
    }

    /// A slab hands out handles, gives values back by them, and reuses a freed slot only after `recycle()`.
    @Test func slabReusesFreedSlotsOnlyAfterRecycling() {
        var slab = Slab<String>()
        let a = slab.insert("a")
        let b = slab.insert("b")
        #expect(slab[a] == "a" && slab[b] == "b" && slab.count == 2)
        #expect(slab.remove(a) == "a" && !slab.holds(a) && slab.holds(b) && slab.count == 1)
        let c = slab.insert("c")
        #expect(c != a && slab[c] == "c")  // not reused before recycling
        slab.recycle()
        let d = slab.insert("d")
        #expect(d == a && slab[d] == "d" && slab.holds(a) && slab.count == 3)
        // Across chunks (4,096 slots each): every value where it was put, freed ones reused after recycling.
        var many = Slab<Int>()
        let handles = (0..<10_000).map { many.insert($0) }
        #expect(handles == (0..<10_000).map { Int32($0) })
        for handle in handles where handle % 3 == 0 { _ = many.remove(handle) }
        many.recycle()
        let reused = (0..<3_334).map { many.insert(-$0) }
        #expect(Set(reused) == Set(handles.filter { $0 % 3 == 0 }) && many.count == 10_000)
        #expect(handles.allSatisfy { $0 % 3 == 0 ? many[$0] <= 0 : many[$0] == Int($0) })
    }

    /// Open impressions filed by second come out exactly when due: whole earlier seconds, the due part of the
    /// limit's second (edges at .000 and .999, before 1970 too), in whatever order they went in.
    @Test func timeBucketsTakeExactlyWhatIsDue() {
        var buckets = TimeBuckets<Int64>()
        let times: [Int64] = [5_000, 3_999, 4_000, 4_500, 3_000, -1, -1_000, -1_001, 10_000, 4_999, 5_001]
        for time in times { buckets.insert(time, atMs: time) }
        #expect(buckets.count == times.count)
        var taken: [Int64] = []
        for limit: Int64 in [-1_002, -1_001, -1, 2_999, 3_999, 4_000, 4_998, 4_999, 5_000, 9_999, .max] {
            let due = buckets.removeThrough(limit) { $0 }
            #expect(due.allSatisfy { $0 <= limit }, "limit \(limit): \(due)")
            taken += due
            #expect(Set(taken) == Set(times.filter { $0 <= limit }), "limit \(limit)")
            #expect(buckets.count == times.count - taken.count)
        }
        // Late elements into seconds already taken are still found; many seconds compact the array.
        buckets.insert(1, atMs: 1)
        for second in Int64(0)..<500 { buckets.insert(20_000 + second * 1000, atMs: 20_000 + second * 1000) }
        #expect(buckets.removeThrough(2) { $0 } == [1])
        #expect(buckets.removeThrough(269_999) { $0 }.count == 250)
        #expect(buckets.count == 250)
        #expect(TimeBuckets<Int>.second(ofMs: .min) < 0 && TimeBuckets<Int>.second(ofMs: -1) == -1)
    }

    /// Times from partitions read in turn, hundreds of seconds apart, in any order: each lands in its
    /// second (found by binary search) and comes out exactly when due.
    @Test func timeBucketsFileScatteredSecondsWhereTheyBelong() {
        var random = SplitMix64(seed: 7)
        var buckets = TimeBuckets<Int64>()
        var held: [Int64] = []
        for round in 0..<40 {
            for _ in 0..<500 {
                let time = Int64(random.next() % 600_000) + Int64(round) * 5_000 - 1_000
                buckets.insert(time, atMs: time)
                held.append(time)
            }
            let limit = Int64(round) * 15_000 + Int64(random.next() % 1_000)
            let due = buckets.removeThrough(limit) { $0 }
            #expect(due.sorted() == held.filter { $0 <= limit }.sorted(), "round \(round)")
            held.removeAll { $0 <= limit }
            #expect(buckets.count == held.count)
        }
        #expect(buckets.removeThrough(.max) { $0 }.sorted() == held.sorted())
    }

    /// The word masks flag the first matching byte exactly, whatever follows it (borrows only reach bytes above
    /// a match): the event reader jumps straight to it.
    @Test func byteWordMasksFindTheFirstMatchingByte() {
        var random = SystemRandomNumberGenerator()
        let alphabet: [UInt8] = [0x00, 0x01, 0x1F, 0x20, 0x21, 0x22, 0x5C, 0x61, 0x7F, 0x80, 0xC3, 0xFF]
        for _ in 0..<20_000 {
            let bytes = (0..<8).map { _ in alphabet.randomElement(using: &random)! }
            let word = bytes.withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) }
            let stops =
                ByteWord.matching(word, UInt8(ascii: "\"")) | ByteWord.matching(word, UInt8(ascii: "\\"))
                | ByteWord.below(word, 0x20) | ByteWord.nonASCII(word)
            let first = bytes.firstIndex { $0 == 0x22 || $0 == 0x5C || $0 < 0x20 || $0 >= 0x80 }
            #expect((stops == 0 ? nil : ByteWord.firstFlagged(stops)) == first, "\(bytes)")
        }
    }
}
