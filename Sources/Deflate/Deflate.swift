import CIsal
import CLibdeflate

/// Whole-buffer DEFLATE for the processor's files: gzip training samples and deflated state segments.
/// The only place the C compressors are called; what comes back is `[UInt8]`.
///
/// Level 1, the fastest, is Intel ISA-L's igzip, levels 2 to 9 are libdeflate's (zlib would be slower at
/// every level: a sample file is compressed whole, which both do). On seed-format samples (206 MB of
/// JSON lines in 2 MB files, this machine) ISA-L's level 1 compresses at 1.0–1.3 GB/s, 12.5× smaller,
/// where libdeflate's level 1 took 330–490 MB/s for 12.3× — the gzip level the processor runs with by
/// default, and its second-largest use of CPU. Decompression is libdeflate's.
///
/// ```swift
/// let file = try Deflate.gzip(Array("{\"clicked\":true}\n".utf8), level: 1)
/// let blob = Deflate.deflate(segment, after: [0xDF])  // header bytes, then the raw DEFLATE stream
/// let segment = try Deflate.inflate(blob[1...], count: segment.count)
/// ```
public enum Deflate {
    /// Levels `gzip` takes: 1 (fastest) to 9 (smallest).
    public static let levels: ClosedRange<Int32> = 1...9

    /// `data` as one gzip member, compressed at `level` (1 fastest to 9 smallest).
    public static func gzip(_ data: [UInt8], level: Int32) throws(DeflateError) -> [UInt8] {
        guard levels.contains(level) else { throw DeflateError("no gzip level \(level): use 1 to 9") }
        if level == 1, let output = isal(data, after: [], gzip: true) { return output }
        guard let compressor = libdeflate_alloc_compressor(level) else {
            throw DeflateError("libdeflate: no compressor for level \(level) (out of memory)")
        }
        defer { libdeflate_free_compressor(compressor) }
        // Uninitialised: zero-filling the bound (the input's size and more) touched every page of it, where
        // the output takes about a twelfth (1.5 % of the processor's CPU, in page faults).
        let bound = libdeflate_gzip_compress_bound(compressor, data.count)
        let output = data.withUnsafeBytes { input in
            [UInt8](unsafeUninitializedCapacity: bound) { out, count in
                count = libdeflate_gzip_compress(compressor, input.baseAddress, input.count, out.baseAddress, bound)
            }
        }
        guard !output.isEmpty else { throw DeflateError("libdeflate: gzip compression failed") }
        return output
    }

    /// `header` followed by `data` as a raw DEFLATE stream (level 1), or nil when it cannot be compressed
    /// (out of memory, or 4 GiB or more): the caller keeps it plain.
    public static func deflate(_ data: [UInt8], after header: [UInt8]) -> [UInt8]? {
        isal(data, after: header, gzip: false)
    }

    /// The `count` bytes the raw DEFLATE stream `stream` holds; it must be exactly that stream, whole.
    public static func inflate(_ stream: ArraySlice<UInt8>, count: Int) throws(DeflateError) -> [UInt8] {
        guard count >= 0, let decompressor = libdeflate_alloc_decompressor() else {
            throw DeflateError("cannot inflate \(count) bytes")
        }
        defer { libdeflate_free_decompressor(decompressor) }
        var output = [UInt8](repeating: 0, count: count)
        var (consumed, produced) = (0, 0)
        let result = stream.withUnsafeBytes { input in
            output.withUnsafeMutableBytes { out in
                libdeflate_deflate_decompress_ex(
                    decompressor, input.baseAddress, input.count, out.baseAddress, out.count, &consumed, &produced)
            }
        }
        guard result == LIBDEFLATE_SUCCESS, produced == count, consumed == stream.count else {
            throw DeflateError("the stream is damaged: it does not inflate to \(count) bytes exactly")
        }
        return output
    }

    /// ISA-L level 1 after `header`; nil when it did not fit or could not run.
    private static func isal(_ data: [UInt8], after header: [UInt8], gzip: Bool) -> [UInt8]? {
        // Stored blocks at worst (5 bytes per 64 KiB) and a gzip header and trailer.
        let bound = header.count + data.count + data.count / 8192 + 1024
        // Uninitialised, as above: only the pages the output takes are touched.
        let output = data.withUnsafeBytes { input in
            [UInt8](unsafeUninitializedCapacity: bound) { out, count in
                for (index, byte) in header.enumerated() { out[index] = byte }
                let size = feedback_isal_compress(
                    input.baseAddress?.assumingMemoryBound(to: UInt8.self), input.count,
                    out.baseAddress! + header.count, bound - header.count, gzip ? 1 : 0)
                count = size > 0 ? header.count + size : 0
            }
        }
        return output.isEmpty ? nil : output
    }
}
