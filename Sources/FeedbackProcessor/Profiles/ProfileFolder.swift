import Dispatch
import FastCollections
import FeedbackWire
import SQLiteStore

/// Folds a batch's events into user profiles and live-metric totals on its own thread, while the
/// processor's thread de-duplicates the next events and keeps the attribution state.
///
/// The processor hands over each poll's applied events in order (``fold(_:_:)``), with the recall source a
/// click inherits from its impression (only the processor's thread knows the open impressions); the folder
/// reads a user's profile or a metric window it does not hold from the store through its own read-only
/// connection. That read sees what the processor's connection would: the batch's transaction writes
/// profiles and metrics only at its end, after ``finish()``, and holds the store's write lock (`BEGIN
/// IMMEDIATE`) throughout, so no other writer commits meanwhile. (Folding took a quarter of the processor's
/// thread, with the other core half idle.)
///
/// ```swift
/// let folder = ProfileFolder(storePath: path, halfLifeMs: 86_400_000, recentClicks: 20)
/// folder.begin(forgettingCommitted: false)
/// folder.fold(events, [ProfileFolder.Fold(index: 0, inherited: nil)])  // after each poll
/// let folded = try folder.finish().wait()  // then write folded.rows and folded.metrics
/// folder.end(committed: true)  // the batch's profiles serve the next one
/// ```
final class ProfileFolder: @unchecked Sendable {
    // @unchecked Sendable: every mutable field is used only by blocks on `queue`, which runs one at a time.

    /// An applied event: its index in the poll's events, and the labels of the impression a click or
    /// conversion without a recall source of its own follows, whose recall source it takes (nil: none open).
    struct Fold {
        var index: Int32
        var inherited: EventLabels?
    }

    /// What a batch folded: profile rows (user, encoded profile) in key order, the profiles themselves (which
    /// serve the next batch once this one commits) and metric totals.
    struct Folded: Sendable {
        var profiles: [ProfileKey: StoredProfile] = [:]
        var rows: [(user: String, data: [UInt8])] = []
        var metrics: [MetricsKey: MetricsTotals] = [:]
    }

    private let queue = DispatchQueue(label: "feedback.processor.profiles")
    /// Used only by blocks on `queue`, each through one `inout` access (`state.fold(...)`): accessed
    /// field by field, the class's properties cost a dynamic exclusivity check each (7 % of folding).
    private var state: State

    init(storePath: String, halfLifeMs: Double, recentClicks: Int) {
        state = State(storePath: storePath, halfLifeMs: halfLifeMs, recentClicks: recentClicks)
    }

    /// Starts a batch; without the last batch's profiles when another connection wrote the store since.
    func begin(forgettingCommitted: Bool) {
        queue.async { [self] in state.begin(forgettingCommitted: forgettingCommitted) }
    }

    /// Folds `folds` (events of `events`, in order) into the batch's profiles and metrics, after what was
    /// handed over before.
    func fold(_ events: [DecodedEvent], _ folds: [Fold]) {
        guard !folds.isEmpty else { return }
        queue.async { [self] in state.fold(events, folds) }
    }

    /// The batch's profiles (encoded, in key order) and metrics, once everything handed over is folded.
    func finish() -> BackgroundWork<Folded> {
        BackgroundWork(on: queue) { [self] in try state.finish() }
    }

    /// Ends the batch: once committed, its profiles serve the next batch; after a failure, none is kept.
    func end(committed wasCommitted: Bool) {
        queue.async { [self] in state.end(committed: wasCommitted) }
    }

    /// Closes the folder's connection to the store once what was handed over is done (the processor's
    /// `deinit`: a connection closed later, by the queue, could hold the store while another processor
    /// opens it).
    func closeConnection() {
        queue.sync { state.reader = nil }
    }

    /// Whether `user`'s profile is held from the last committed batch (for tests).
    func holdsCommitted(user: String) -> Bool {
        queue.sync { state.committed[ProfileKey(user)] != nil }
    }

    /// A user's name as a dictionary key, hashed once by a multiply-mix of its bytes: looking profiles up by
    /// `String` (SipHash over the name on every event) was a third of folding.
    struct ProfileKey: Hashable, Sendable {
        let name: String
        private let hash: Int

        /// `hash`: `PairHash.of(name, "")`, computed here when not given.
        init(_ name: String, hash: UInt64? = nil) {
            self.name = name
            self.hash = Int(truncatingIfNeeded: hash ?? PairHash.of(name, ""))
        }

        static func == (lhs: ProfileKey, rhs: ProfileKey) -> Bool { lhs.hash == rhs.hash && lhs.name == rhs.name }
        func hash(into hasher: inout Hasher) { hasher.combine(hash) }
    }

    private struct State {
        let storePath: String
        let halfLifeMs: Double
        let recentClicks: Int
        var reader: SQLiteConnection?
        /// The batch's metrics (its profiles are in `keys` and `profiles` until `finish()`).
        var batch = Folded()
        /// The batch's profiles in the order first touched, found through `profileSlots` by their key's hash
        /// (as ``Slab`` handles are through a ``PairIndex``). A `Dictionary` hashed every key with SipHash
        /// per event, and its entries could not be prefetched: the profiles outgrow the caches, and folding
        /// waited for memory on most events.
        var keys: [ProfileKey] = []
        var profiles: [StoredProfile] = []
        var profileSlots = PairIndex()
        /// The profiles the last committed batch wrote, as it wrote them: a user active in consecutive
        /// batches is taken from here rather than read and decoded again (7 % of the processor's thread when
        /// every user recurs). Taken out as they are used; emptied when a batch fails and when another
        /// connection has written the store. At most one batch's users.
        var committed: [ProfileKey: StoredProfile] = [:]
        /// The profiles of the batch being committed (`end(committed:)` keeps them).
        var pending: [ProfileKey: StoredProfile]?
        /// The first error of the batch (a store read); `finish()` throws it.
        var failure: (any Error)?
        /// The metric windows of minute `metricsMinute` in `batch.metrics`: scene, source and index.
        var metricsMinute = Int64.min
        var minuteMetrics: [(key: MetricsKey, index: Dictionary<MetricsKey, MetricsTotals>.Index)] = []
        /// Affinity feature names by category, built once per value (those of recall sources: by their
        /// label set, ``EventLabels/recallSourceFeatures``).
        var categoryFeatureNames: [String: String] = [:]

        init(storePath: String, halfLifeMs: Double, recentClicks: Int) {
            self.storePath = storePath
            self.halfLifeMs = halfLifeMs
            self.recentClicks = recentClicks
        }

        mutating func begin(forgettingCommitted: Bool) {
            if forgettingCommitted { committed.removeAll() }
            batch = Folded()
            (keys, profiles, profileSlots) = ([], [], PairIndex())
            // About as many users as the last batch.
            keys.reserveCapacity(committed.count)
            profiles.reserveCapacity(committed.count)
            (metricsMinute, minuteMetrics) = (.min, [])
            failure = nil
        }

        // `profileIndex` and `prefetch` only read, but are `mutating`: called from the fold loop's closure,
        // which holds the state `inout`, a non-mutating call copied the whole state (every array and
        // dictionary retained and released) per event.

        /// Where `user`'s profile is in `profiles`, if the batch holds it.
        @inline(__always) mutating func profileIndex(of user: String, hash: UInt64) -> Int? {
            var found: Int?
            profileSlots.forEach(hash: hash) { slot in
                if found == nil, keys[Int(slot)].name == user { found = Int(slot) }
            }
            return found
        }

        /// Starts loading what folding `event` will read: its profile's slot (`stage` 0), else, the slot
        /// loaded by now, the profile itself (`stage` 1) — a few events ahead of each.
        @inline(__always) mutating func prefetch(for event: UnsafePointer<DecodedEvent>, stage: Int) {
            guard stage == 1 else { return profileSlots.prefetch(hash: event.pointee.profileHash) }
            guard let index = profileIndex(of: event.pointee.profileKey, hash: event.pointee.profileHash) else {
                return
            }
            profiles.prefetch(at: index)
        }

        mutating func fold(_ events: [DecodedEvent], _ folds: [Fold]) {
            guard failure == nil else { return }
            do {
                // Each event read where it lies, through a pointer: passed as a value to this mutating
                // method, it was copied whole and destroyed (its strings retained and released) per event.
                try events.withUnsafeBufferPointer { events throws in
                    let base = events.baseAddress!
                    for position in folds.indices {
                        // The profiles a few events ahead: their slots, then (those slots loaded) themselves.
                        if position + 2 * Prefetch.distance < folds.count {
                            prefetch(
                                for: base + Int(folds[position + 2 * Prefetch.distance].index),
                                stage: 0)
                        }
                        if position + Prefetch.distance < folds.count {
                            prefetch(
                                for: base + Int(folds[position + Prefetch.distance].index), stage: 1)
                        }
                        let fold = folds[position]
                        guard events[Int(fold.index)].isEvent else { continue }
                        try self.fold(base + Int(fold.index), inherited: fold.inherited)
                    }
                }
            } catch {
                failure = error
            }
        }

        mutating func finish() throws -> Folded {
            if let failure { throw failure }
            var folded = Folded()
            swap(&folded, &batch)
            (metricsMinute, minuteMetrics) = (.min, [])
            folded.rows = zip(keys, profiles).sorted(by: { $0.0.name < $1.0.name }).map {
                ($0.0.name, $0.1.encoded())
            }
            folded.profiles = Dictionary(uniqueKeysWithValues: zip(keys, profiles))
            (keys, profiles, profileSlots) = ([], [], PairIndex())
            pending = folded.profiles
            return folded
        }

        mutating func end(committed wasCommitted: Bool) {
            committed = wasCommitted ? pending ?? [:] : [:]
            pending = nil
            batch = Folded()
            (keys, profiles, profileSlots) = ([], [], PairIndex())
            (metricsMinute, minuteMetrics) = (.min, [])
        }

        private mutating func fold(_ event: UnsafePointer<DecodedEvent>, inherited: EventLabels?) throws {
            // The labels the recall source comes from: the event's, else its impression's.
            let sourceLabels = event.pointee.labels.recallSource != nil ? event.pointee.labels : inherited
            let recallSource = sourceLabels?.recallSource
            let name = event.pointee.profileKey
            if !name.isEmpty {
                let user = ProfileKey(name, hash: event.pointee.profileHash)
                let weight = AffinityWeight.of(event.pointee.kind, event.pointee.type)
                var index = profileIndex(of: name, hash: event.pointee.profileHash)
                if index == nil {
                    let profile: StoredProfile
                    if let kept = committed.removeValue(forKey: user) {
                        profile = kept
                    } else {
                        profile = try StoredProfile.read(user: name, from: connection()) ?? StoredProfile()
                    }
                    index = profiles.count
                    keys.append(user)
                    profiles.append(profile)
                    profileSlots.insert(Int32(index!), hash: event.pointee.profileHash)
                }
                // The affinity features of a weighted event: one per recall source (`hot|ann` is two), and its
                // category.
                profiles[index!].record(
                    event.pointee.type, at: event.pointee.timestampMs,
                    click: event.pointee.kind == .click
                        ? StoredProfile.Click(
                            eventID: event.pointee.eventID, itemID: event.pointee.itemID,
                            timestampMs: event.pointee.timestampMs)
                        : nil,
                    weight: weight,
                    features: weight == 0 ? [] : sourceLabels?.recallSourceFeatures ?? [],
                    extraFeature: weight == 0 ? nil : event.pointee.category.map { categoryFeature($0) },
                    halfLifeMs: halfLifeMs, recentClicks: recentClicks)
            }
            switch event.pointee.kind {
            case .impression, .click, .conversion:
                let minute = MetricsKey.minute(of: event.pointee.timestampMs)
                let source = recallSource ?? "unknown"
                // The minute's windows found by a scan (a few scenes × recall sources) instead of hashing two
                // strings per event; events come in time order, so the minute rarely changes.
                if minute != metricsMinute { (metricsMinute, minuteMetrics) = (minute, []) }
                if let index = minuteMetrics.firstIndex(where: { $0.key.matches(event.pointee, source: source) }) {
                    batch.metrics.values[minuteMetrics[index].index].count(
                        event.pointee.kind, amount: event.pointee.amount)
                    break
                }
                let key = MetricsKey(minute: minute, event: event.pointee, source: source)
                if batch.metrics[key] == nil {
                    batch.metrics[key] = try MetricsStore.totals(of: key, in: connection()) ?? MetricsTotals()
                }
                let index = batch.metrics.index(forKey: key)!
                batch.metrics.values[index].count(event.pointee.kind, amount: event.pointee.amount)
                // Indices stay valid while no key is added: the minute's list is rebuilt after every insertion.
                minuteMetrics = batch.metrics.indices.compactMap { index in
                    let key = batch.metrics.keys[index]
                    return key.minute == minute ? (key, index) : nil
                }
            default:
                break
            }
        }

        /// The folder's own read-only connection to the store, opened at its first read.
        private mutating func connection() throws -> SQLiteConnection {
            if let reader { return reader }
            let opened = try SQLiteConnection(path: storePath)
            try opened.execute("PRAGMA query_only=1; PRAGMA busy_timeout=10000;")
            reader = opened
            return opened
        }

        /// `category=…`, built once per distinct category.
        private mutating func categoryFeature(_ category: String) -> String {
            if let name = categoryFeatureNames[category] { return name }
            if categoryFeatureNames.count >= 4096 { categoryFeatureNames.removeAll(keepingCapacity: true) }
            let name = "category=\(category)"
            categoryFeatureNames[category] = name
            return name
        }
    }
}
