/// Where a batch's training samples go: each impression once its attribution window closes, labelled by
/// what joined it. Fed as windows close (after every poll); a batch's samples are written when it ends,
/// before it commits, and a retried batch writes the same `part` again. The built-in sink writes gzip
/// JSON-lines files by hour (`Samples/SampleWriter`).
///
/// ```swift
/// let sink: any SampleSink = SampleWriter(level: 1, directory: "feedback-data/samples")
/// sink.add(closed)                              // after each poll
/// try sink.write(part: "000000000007").wait()   // before the batch commits
/// ```
protocol SampleSink: Sendable {
    /// Takes `closed` (in order after what was added before); may encode them on another thread.
    func add(_ closed: [ClosedImpression])
    /// Writes every sample added as the batch's `part`, on another thread; ``BackgroundWork/wait()`` is done.
    func write(part: String) -> BackgroundWork<Void>
}
