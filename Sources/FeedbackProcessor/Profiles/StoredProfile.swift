import FastCollections
import FeedbackWire
import Foundation
import SQLiteStore

/// One user's profile as the store keeps it: one row per user, the whole profile in one blob — event
/// counts, last seen time, recent clicks, label affinities.
///
/// A batch reads the row of each user it touches once, folds the user's events into it one by one and
/// writes it back once. (As rows of four tables, a user cost up to four upserts per batch and, once they had
/// clicked more than `recentClicks` times, a trimming delete every batch: most of the processor's writing.)
/// A user's types, clicks and features are few, so they are found by a linear scan of small arrays.
///
/// ```swift
/// var profile = try StoredProfile(decoding: blob, origin: store.path)
/// profile.record("click", at: time, click: click, weight: 1, features: ["recall_source=hot"],
///                extraFeature: nil, halfLifeMs: halfLife, recentClicks: 20)
/// let row = profile.encoded()
/// ```
struct StoredProfile: Sendable {
    struct Affinity: Sendable {
        var feature: String
        var score: Double
        var updatedMs: Int64
    }

    struct Click: Sendable {
        var eventID: String
        var itemID: String
        var timestampMs: Int64
    }

    /// Events per type.
    private(set) var counts: [(type: String, count: Int64)] = []
    private(set) var lastSeenMs = Int64.min
    /// The most recent clicks, newest first (by time, then event id), at most `recentClicks` of them.
    private(set) var clicks: [Click] = []
    /// Affinities, each as of its `updatedMs`; folded with events one by one, so that the scores come out
    /// bit for bit the same whatever the batches.
    private(set) var affinity: [Affinity] = []

    private static let layout: UInt8 = 1
    /// Affinities a profile keeps: a new feature past them replaces the weakest (decayed to the event's time),
    /// so that a user with endless distinct categories costs a bounded profile, and each event a bounded scan.
    static let maxAffinities = 256
    /// Event types a profile counts by name; further custom types are counted together as `_other`.
    static let maxTypes = 32

    init() {}

    /// Counts one event of `type` at `timeMs` (a click: event `click`, kept among the user's
    /// `recentClicks` newest); a weighted one (`weight` ≠ 0) adds to the affinity of each of `features` and
    /// `extraFeature`, decayed with `halfLifeMs`.
    mutating func record(
        _ type: String, at timeMs: Int64, click: Click?, weight: Double, features: [String], extraFeature: String?,
        halfLifeMs: Double, recentClicks: Int
    ) {
        lastSeenMs = max(lastSeenMs, timeMs)
        if let click { keep(click, recentClicks: recentClicks) }
        if let index = counts.firstIndex(where: { $0.type == type }) {
            counts[index].count += 1
        } else if counts.count < Self.maxTypes - 1 {
            counts.append((type, 1))
        } else if let other = counts.firstIndex(where: { $0.type == "_other" }) {
            counts[other].count += 1
        } else {
            counts.append(("_other", 1))
        }
        guard weight != 0 else { return }
        for feature in features { add(weight, to: feature, at: timeMs, halfLifeMs: halfLifeMs) }
        if let extraFeature { add(weight, to: extraFeature, at: timeMs, halfLifeMs: halfLifeMs) }
    }

    private mutating func keep(_ click: Click, recentClicks: Int) {
        // Newest first; a click already held (the same id at the same time) is not held twice.
        var index = 0
        while index < clicks.count,
            (clicks[index].timestampMs, clicks[index].eventID) > (click.timestampMs, click.eventID)
        {
            index += 1
        }
        if index < clicks.count, clicks[index].timestampMs == click.timestampMs,
            clicks[index].eventID == click.eventID
        {
            return
        }
        guard index < recentClicks else { return }
        clicks.insert(click, at: index)
        if clicks.count > recentClicks { clicks.removeLast(clicks.count - recentClicks) }
    }

    private mutating func add(_ weight: Double, to feature: String, at timeMs: Int64, halfLifeMs: Double) {
        guard let index = affinity.firstIndex(where: { $0.feature == feature }) else {
            if affinity.count >= Self.maxAffinities {
                // The weakest as of now (ties: the feature first in order), replaced.
                func decayed(_ entry: Affinity) -> Double {
                    entry.score * pow(2, -Double(max(0, timeMs - entry.updatedMs)) / halfLifeMs)
                }
                let weakest = affinity.indices.min {
                    (decayed(affinity[$0]), affinity[$0].feature) < (decayed(affinity[$1]), affinity[$1].feature)
                }!
                affinity[weakest] = Affinity(feature: feature, score: weight, updatedMs: timeMs)
                return
            }
            affinity.append(Affinity(feature: feature, score: weight, updatedMs: timeMs))
            return
        }
        let previous = affinity[index]
        let later = max(timeMs, previous.updatedMs)
        // Both decayed to the later time, so that the result does not depend on arrival order.
        affinity[index].score =
            previous.score * pow(2, -Double(later - previous.updatedMs) / halfLifeMs) + weight
            * pow(2, -Double(later - timeMs) / halfLifeMs)
        affinity[index].updatedMs = later
    }

    /// The profile as the read API gives it: affinities decayed to the last time the user was seen.
    func profile(user: String, halfLifeMs: Double) -> UserProfile {
        UserProfile(
            user: user, counts: Dictionary(counts.map { ($0.type, Int($0.count)) }, uniquingKeysWith: +),
            recentClicks: clicks.map(\.itemID),
            affinity: Dictionary(
                affinity.map {
                    ($0.feature, $0.score * pow(2, -Double(max(0, lastSeenMs - $0.updatedMs)) / halfLifeMs))
                },
                uniquingKeysWith: { first, _ in first }),
            lastSeenMs: lastSeenMs)
    }

    // MARK: - Blob

    /// The row's blob (`SegmentWriter`'s layout): last seen, counts, clicks, affinities.
    func encoded() -> [UInt8] {
        var writer = SegmentWriter(
            version: Self.layout, capacity: 64 + 48 * (counts.count + clicks.count + affinity.count))
        writer.int(lastSeenMs)
        writer.count(counts.count)
        for (type, count) in counts {
            writer.string(type)
            writer.int(count)
        }
        writer.count(clicks.count)
        for click in clicks {
            writer.string(click.eventID)
            writer.string(click.itemID)
            writer.int(click.timestampMs)
        }
        writer.count(affinity.count)
        for entry in affinity {
            writer.string(entry.feature)
            writer.double(entry.score)
            writer.int(entry.updatedMs)
        }
        return writer.bytes
    }

    /// Reads what `encoded()` wrote; a damaged blob is an error naming `origin` (the store).
    /// The profile of `user` as `store` holds it; nil if never seen.
    static func read(user: String, from store: SQLiteConnection) throws -> StoredProfile? {
        let row = try store.query("SELECT data FROM profiles WHERE user_id = ?", [.text(user)]).first
        guard case .blob(let data)? = row?.first else { return nil }
        return try StoredProfile(decoding: data, origin: store.path)
    }

    /// The profile encoded in `bytes`; a damaged one is ``ProcessorError/damagedState(_:)`` naming `origin`.
    init(decoding bytes: [UInt8], origin: String) throws(ProcessorError) {
        do {
            try self.init(reading: bytes, origin: origin)
        } catch {
            throw ProcessorError(error)
        }
    }

    private init(reading bytes: [UInt8], origin: String) throws {
        var reader = try SegmentReader(bytes, origin: origin, version: Self.layout)
        lastSeenMs = try reader.int()
        for _ in 0..<(try reader.count()) { counts.append((try reader.string(), try reader.int())) }
        for _ in 0..<(try reader.count()) {
            clicks.append(
                Click(eventID: try reader.string(), itemID: try reader.string(), timestampMs: try reader.int()))
        }
        for _ in 0..<(try reader.count()) {
            affinity.append(
                Affinity(feature: try reader.string(), score: try reader.double(), updatedMs: try reader.int()))
        }
        guard reader.isAtEnd else {
            throw ProcessorError.damagedState("\(origin): a profile has bytes past its end; the store is damaged")
        }
    }

    /// Builds a profile from what layout 4 kept in four tables (the migration).
    init(lastSeenMs: Int64, counts: [(String, Int64)], clicks: [Click], affinity: [Affinity]) {
        self.lastSeenMs = lastSeenMs
        self.counts = counts.map { (type: $0.0, count: $0.1) }
        self.clicks = clicks
        self.affinity = affinity
    }
}
