import CIsal

#if canImport(Glibc)
    import Glibc
#endif

/// One gzip member compressed as its input arrives, at level 1 (ISA-L's igzip, like `Deflate.gzip` at level
/// 1): a writer that gathers lines over a long time holds them compressed — about a twelfth of their size
/// for training samples — instead of whole until the end, and the compressing happens as they come.
///
/// ```swift
/// let stream = try GzipStream()
/// try lines.withUnsafeBytes { try stream.append($0) }  // as often as needed
/// let file = try stream.finish()  // the whole member: header, DEFLATE stream, trailer
/// ```
///
/// Not thread-safe: one thread at a time.
public final class GzipStream {
    private let state: UnsafeMutablePointer<feedback_isal_gzip>
    /// The compressed bytes so far: `count` of `capacity` (malloc'd, grown by `realloc`).
    private var buffer: UnsafeMutablePointer<UInt8>?
    private var capacity = 0
    private var finished = false

    /// The compressed bytes written so far.
    public private(set) var count = 0

    public init() throws(DeflateError) {
        guard let state = feedback_isal_gzip_new() else { throw DeflateError("out of memory for a gzip stream") }
        self.state = state
    }

    deinit {
        free(state)
        free(buffer)
    }

    /// Compresses `bytes` after what was appended before.
    public func append(_ bytes: UnsafeRawBufferPointer) throws(DeflateError) {
        try write(bytes, last: false)
    }

    /// Ends the stream and returns the whole gzip member; nothing can be appended after.
    public func finish() throws(DeflateError) -> [UInt8] {
        try write(UnsafeRawBufferPointer(start: nil, count: 0), last: true)
        guard let buffer else { return [] }
        return Array(UnsafeBufferPointer(start: buffer, count: count))
    }

    private func write(_ bytes: UnsafeRawBufferPointer, last: Bool) throws(DeflateError) {
        guard !finished else { throw DeflateError("the gzip stream is finished: nothing can be added") }
        let input = bytes.baseAddress?.assumingMemoryBound(to: UInt8.self)
        var offset = 0
        while true {
            // Room for the rest at a quarter of its size (samples take a twelfth), more when that fills.
            try reserve(1024 + (bytes.count - offset) / 4)
            var consumed = 0
            // No input (the end): any valid pointer, none of whose bytes is read.
            let written = feedback_isal_gzip_write(
                state, input.map { $0 + offset } ?? UnsafePointer(buffer!), bytes.count - offset, buffer! + count,
                capacity - count, last ? 1 : 0, &consumed)
            guard written >= 0 else { throw DeflateError("ISA-L: gzip stream compression failed") }
            count += written
            offset += consumed
            if offset == bytes.count && (!last || feedback_isal_gzip_finished(state) != 0) { break }
            // Otherwise the output was full: the loop makes more room.
            guard written > 0 || consumed > 0 else { throw DeflateError("ISA-L: gzip stream made no progress") }
        }
        finished = last
    }

    /// At least `room` bytes free after `count`.
    private func reserve(_ room: Int) throws(DeflateError) {
        guard capacity - count < room else { return }
        let grown = max(2 * capacity, count + room)
        guard let moved = realloc(buffer, grown) else {
            throw DeflateError("out of memory for \(grown) bytes of gzip stream")
        }
        buffer = moved.assumingMemoryBound(to: UInt8.self)
        capacity = grown
    }
}
