import FeedbackWire
import Foundation

// One batch inside its store transaction, step by step: begin, apply each poll (reading the next one on
// another thread), then end — close what is due, write every stage's output, and hand the batch to the sinks.
extension BatchRunner {
    /// What one batch holds on the runner's thread while its polls are applied.
    struct Batch {
        var applied: [Int32: Int64]
        var clock: PartitionClock
        /// The events applied, checked against the de-duplication window.
        var seen: SeenIDs
        var samples: any SampleSink
        /// Windows are closed up to this watermark.
        var closedThrough: Int64
        /// The records refused, with their reasons: written with the batch.
        var failed: [FailedRecord] = []
        var total = 0
    }

    /// `first` and the polls after it applied in the store's open transaction.
    func applyBatch(
        _ first: PollAhead.Poll, _ statistics: inout ProcessorStatistics, _ polled: inout PolledRange
    ) throws {
        var batch = try beginBatch()
        var poll = first
        var retired: PollAhead.Poll?  // applied: freed on another thread
        polled.add(poll.records)
        batch.total = poll.records.count
        while true {
            // The next poll is read and decoded on another thread while this one is applied; once the batch
            // is full, the next batch's first poll is, while this one ends.
            let ahead = readNextPoll(after: batch.total, retiring: retired)
            retired = nil
            let now = ContinuousClock.now
            activity.saw(poll.records, at: now)
            batch.clock.idle = activity.idle(
                among: batch.clock.assigned, timeout: configuration.partitionIdleTimeout, at: now)
            do {
                try apply(poll.records, poll.events, &batch, &statistics)
                try closeReadyWindows(&batch, &statistics)
            } catch {
                // The source is not left in use by the other thread, and what it read is rewound too.
                if let next = try? ahead?.wait() { polled.add(next.records) }
                throw error
            }
            guard let ahead else { break }
            let next = try ProcessorError.map(ProcessorError.source) { try counters.timed(.poll) { try ahead.wait() } }
            polled.add(next.records)
            batch.total += next.records.count
            // Any change (a partition taken away, or a new one whose events could be older than this
            // batch's watermark) means a rebalance: start the batch again with the new assignment.
            if source.assignment != batch.clock.assigned { throw ProcessorError.rebalanced }
            guard !next.records.isEmpty else {
                retired = poll
                break
            }
            retired = poll
            poll = next
        }
        // The last polls are freed on another thread.
        _ = BackgroundWork { [retired, poll] in withExtendedLifetime((retired, poll)) {} }
        try endBatch(batch, &statistics)
    }

    /// Starts a batch's changes to every stage.
    private func beginBatch() throws -> Batch {
        let version = try store.dataVersion()
        profiles.begin(forgettingCommitted: version != storeVersion)
        storeVersion = version
        var clock = PartitionClock(newest: try store.newestPerPartition(), assigned: source.assignment)
        clock.idle = activity.idle(among: clock.assigned, timeout: configuration.partitionIdleTimeout, at: .now)
        try attribution().begin(segment: try store.nextCounter("segment"))
        return Batch(
            applied: try store.appliedOffsets(), clock: clock, seen: SeenIDs(origin: store.path),
            samples: SampleWriter(
                level: Int32(configuration.samplesCompressionLevel), directory: configuration.samplesDirectory),
            closedThrough: clock.watermark)
    }

    /// The next poll, read on another thread: of this batch while it has room, else the next batch's first.
    private func readNextPoll(after total: Int, retiring retired: PollAhead.Poll?) -> PollAhead? {
        guard total < configuration.batchSize else {
            nextBatchPoll = PollAhead(
                source, max: min(configuration.pollSize, configuration.batchSize), retiring: retired)
            return nil
        }
        return PollAhead(
            source, max: min(configuration.pollSize, configuration.batchSize - total),
            linger: configuration.batchLinger, retiring: retired)
    }

    /// Closes the windows the watermark has passed since the last poll; their samples are encoded on another
    /// thread while the next poll is applied (when a window closes does not change its sample).
    private func closeReadyWindows(_ batch: inout Batch, _ statistics: inout ProcessorStatistics) throws {
        let watermark = batch.clock.watermark
        guard watermark > batch.closedThrough else { return }
        batch.closedThrough = watermark
        let closed = try attribution().close(through: watermark - attributionWindowMs, windowMs: attributionWindowMs)
        statistics.samples += closed.count
        batch.samples.add(closed)
    }

    /// Ends the batch: expires what is due, writes the batch's samples, state, profiles, metrics, seen ids
    /// and offsets, and hands profiles and metrics to the sinks — the slow parts on other threads, all of
    /// them done before the transaction commits.
    private func endBatch(_ batch: Batch, _ statistics: inout ProcessorStatistics) throws {
        // Profiles are encoded on the folder's thread meanwhile.
        let folding = profiles.finish()
        defer { folding.waitIgnoringErrors() }
        let state = try attribution()
        let watermark = batch.clock.watermark
        if batch.clock.hasWatermark { state.expireActions(before: watermark - 2 * attributionWindowMs) }
        // The batch's attribution segments are encoded, and its sample files written, on other threads while
        // its profiles, metrics and offsets go to the store. Neither is ever left running: a retry of this
        // batch rewrites the same files, named by a batch number from the store (a rolled-back retry reuses
        // it, a later batch — even one starting at a redelivered record — never does).
        let segments = state.encodeCurrent()
        defer { segments.waitIgnoringErrors() }
        let sampleFiles = batch.samples.write(part: ProcessorStore.padded(try store.nextCounter("batch")))
        defer { sampleFiles.waitIgnoringErrors() }
        let folded = try counters.timed(.profiles) { try folding.wait() }
        try batch.seen.write(to: store.connection)
        try ProfileStore.write(folded.rows, to: store.connection)
        try MetricsStore.write(folded.metrics, to: store.connection)
        try FailedStore.write(batch.failed, to: store.connection)
        try store.writeOffsets(batch.applied, newest: batch.clock.newest)
        if batch.clock.hasWatermark {
            try SeenIDs.expire(before: watermark - configuration.deduplicationWindow.milliseconds, in: store.connection)
        }
        try state.persist(to: store.connection, current: try counters.timed(.state) { try segments.wait() })
        try ProcessorError.map(ProcessorError.samples) { try counters.timed(.samples) { try sampleFiles.wait() } }
        let refused = try publish(folded)
        if !failedSinks.isEmpty, !(batch.failed.isEmpty && refused.isEmpty) {
            try ProcessorError.map(ProcessorError.sink) {
                for sink in failedSinks { try sink.write(batch.failed + refused) }
            }
        }
    }

    /// Hands the batch's profiles and metric windows, as the store now holds them, to the sinks; returns
    /// the items they refused for good (kept among the failed records).
    private func publish(_ folded: ProfileFolder.Folded) throws -> [FailedRecord] {
        var refused: [FailedRecord] = []
        if !profileSinks.isEmpty {
            let profiles = try folded.profiles.keys.map(\.name).sorted().compactMap { user in
                try StoredProfile.read(user: user, from: store.connection)?.profile(
                    user: user, halfLifeMs: affinityHalfLifeMs)
            }
            for sink in profileSinks {
                refused += try keepingRefusals(of: profiles) { () throws in try sink.write(profiles) }
            }
        }
        if !metricsSinks.isEmpty {
            let windows = try MetricsStore.windows(
                minutes: Set(folded.metrics.keys.map(\.minute)), in: store.connection)
            let version = try store.nextCounter("metrics_version")
            for sink in metricsSinks {
                refused += try keepingRefusals(of: windows) { () throws in try sink.write(windows, version: version) }
            }
        }
        return refused
    }

    /// Runs one sink's `write` of `items`; the items it refuses for good (``SinkRefusal``) become failed
    /// records in this batch's transaction, any other failure fails the batch (retried later).
    private func keepingRefusals<Item: Encodable>(of items: [Item], _ write: () throws -> Void) throws
        -> [FailedRecord]
    {
        do {
            try write()
            return []
        } catch let refusal as SinkRefusal {
            let encoder = JSONEncoder()
            encoder.outputFormatting = .sortedKeys
            let records = try refusal.items.map { item in
                let payload = item.index < items.count ? Array((try? encoder.encode(items[item.index])) ?? Data()) : []
                let record = FailedRecord(
                    source: "sink:" + refusal.sink, partition: -1, offset: try store.nextCounter("sink_refusals"),
                    kind: "sink_refused", reason: item.reason, size: payload.count,
                    payload: Array(payload.prefix(FailedRecord.maxKeptBytes)))
                counters.sinkRefused(record)
                return record
            }
            try FailedStore.write(records, to: store.connection)
            return records
        } catch {
            throw ProcessorError(sinkFailure: error)
        }
    }
}
