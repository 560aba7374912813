import FeedbackLog
import Foundation

/// What one batch changes in one user's profile — event counts, last seen time, whether they clicked,
/// label affinities — gathered in memory and written once at the end of the batch.
///
/// Held per user so that an event costs one dictionary look-up of its user, where a key per table (user +
/// type, user, user + feature) cost one hash of the user id each. A user's types and features are few, so
/// they are found by a linear scan of small arrays.
struct UserChanges {
    struct Affinity {
        var feature: String
        var score: Double
        var updatedMs: Int64
        /// False while it is only what the store held (not written back).
        var changed: Bool
    }

    /// A click, as the recent-clicks table keeps it.
    struct Click {
        var eventID: String
        var itemID: String
        var timestampMs: Int64
    }

    /// Events per type in this batch.
    private(set) var counts: [(type: String, count: Int64)] = []
    private(set) var lastSeenMs = Int64.min
    /// The user's clicks in this batch.
    private(set) var clicks: [Click] = []
    /// The stored affinities of the user (loaded at their first weighted event in the batch), folded with
    /// the batch's events one by one, so that the scores come out bit for bit as if written per event.
    private(set) var affinity: [Affinity] = []
    private var affinityLoaded = false

    /// Counts one event of `type` at `timeMs` (a click: event `click`); a weighted one (`weight` ≠ 0) adds
    /// to the affinity of each of `features` and `extraFeature`, decayed with `halfLifeMs`. `stored` reads
    /// the user's affinities from the store, once per batch.
    mutating func record(
        _ type: String, at timeMs: Int64, click: Click?, weight: Double, features: [String], extraFeature: String?,
        halfLifeMs: Double, stored: () throws(LocalLogError) -> [Affinity]
    ) throws(LocalLogError) {
        lastSeenMs = max(lastSeenMs, timeMs)
        if let click { clicks.append(click) }
        if let index = counts.firstIndex(where: { $0.type == type }) {
            counts[index].count += 1
        } else {
            counts.append((type, 1))
        }
        guard weight != 0 else { return }
        if !affinityLoaded {
            affinity = try stored()
            affinityLoaded = true
        }
        for feature in features { add(weight, to: feature, at: timeMs, halfLifeMs: halfLifeMs) }
        if let extraFeature { add(weight, to: extraFeature, at: timeMs, halfLifeMs: halfLifeMs) }
    }

    private mutating func add(_ weight: Double, to feature: String, at timeMs: Int64, halfLifeMs: Double) {
        guard let index = affinity.firstIndex(where: { $0.feature == feature }) else {
            affinity.append(Affinity(feature: feature, score: weight, updatedMs: timeMs, changed: true))
            return
        }
        let previous = affinity[index]
        let later = max(timeMs, previous.updatedMs)
        // Both decayed to the later time, so that the result does not depend on arrival order.
        affinity[index].score =
            previous.score * pow(2, -Double(later - previous.updatedMs) / halfLifeMs) + weight
            * pow(2, -Double(later - timeMs) / halfLifeMs)
        affinity[index].updatedMs = later
        affinity[index].changed = true
    }
}
