import Dispatch
import Synchronization

/// A batch's training samples, encoded to JSON on another thread as its windows close — poll by poll, while
/// the processor's own thread applies the next — and written as files when the batch ends. (Encoding them
/// all at the end left the processor waiting for its samples thread a tenth of the time.)
///
/// ```swift
/// let samples = SampleWriter(level: 1, directory: "feedback-data/samples")
/// samples.add(state.close(through: watermark - window, windowMs: window))  // after each poll
/// let files = samples.write(part: "000000000007")
/// defer { files.waitIgnoringErrors() }  // never left running
/// try files.wait()  // then commit
/// ```
final class SampleWriter: SampleSink {
    /// Runs the encoding jobs in order, then the writing.
    private let queue = DispatchQueue(label: "feedback.processor.samples")
    private let lines: Mutex<SampleBatch>

    private let directory: String

    /// A batch's writer of gzip files at `level` (1 fastest to 9 smallest) under `directory`.
    init(level: Int32, directory: String) {
        lines = Mutex(SampleBatch(level: level))
        self.directory = directory
    }

    /// Encodes `closed` (in order after what was added before) on the writer's thread — and at level 1
    /// compresses it there; the impressions are freed there too.
    func add(_ closed: [ClosedImpression]) {
        guard !closed.isEmpty else { return }
        queue.async { [self] in
            lines.withLock { $0.append(closed) }  // only this queue takes the lock: never contended
        }
    }

    /// Writes every sample added, once their encoding is done: one gzip file per hour (see ``SampleBatch``).
    func write(part: String) -> BackgroundWork<Void> {
        BackgroundWork(on: queue) { [self] in
            try lines.withLock { try $0.write(to: directory, part: part) }
        }
    }
}
