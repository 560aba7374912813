import Deflate

/// A segment as the store keeps it: deflated (level 1, see `Deflate`) behind a marker byte and its length.
/// A batch's own segments — every impression and action it added — were ~9 MB per 100,000 events,
/// written through SQLite's overflow pages and the WAL (and its fsync) at every commit; deflated they are a
/// fraction of that, compressed on the thread that encodes them. Segments written before, not deflated,
/// are read as they are.
///
/// ```swift
/// let blob = SegmentDeflate.deflated(writer.bytes)
/// var reader = try SegmentReader(SegmentDeflate.inflated(blob, origin: store.path), origin: store.path, version: 1)
/// ```
enum SegmentDeflate {
    /// Leads a deflated segment; a plain one leads with its layout version (below 0x80).
    static let marker: UInt8 = 0xDF

    static func deflated(_ segment: [UInt8]) -> [UInt8] {
        var header = [marker]
        var rest = UInt64(segment.count)
        while rest >= 0x80 {
            header.append(UInt8(truncatingIfNeeded: rest) | 0x80)
            rest >>= 7
        }
        header.append(UInt8(rest))
        // Nil: it could not be compressed (out of memory); kept plain, which reads the same.
        return Deflate.deflate(segment, after: header) ?? segment
    }

    /// The segment `blob` holds (itself when not deflated); a damaged one is a storage error naming `origin`.
    static func inflated(_ blob: [UInt8], origin: String) throws(ProcessorError) -> [UInt8] {
        guard blob.first == marker else { return blob }
        func damaged(_ what: String) -> ProcessorError {
            .damagedState("\(origin): a deflated attribution segment is damaged (\(what))")
        }
        var position = 1
        var count: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            guard position < blob.count, shift < 64 else { throw damaged("length") }
            let byte = blob[position]
            position += 1
            count |= UInt64(byte & 0x7F) << shift
            if byte < 0x80 { break }
            shift += 7
        }
        guard count <= 1 << 40 else { throw damaged("length") }
        do { return try Deflate.inflate(blob[position...], count: Int(count)) } catch { throw damaged("data") }
    }
}
