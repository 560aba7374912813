import CLibdeflate
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Writes a gzip file atomically: to a temporary name, fsynced, then renamed into place, so a reader (or a
/// crash) never sees half a file, and writing the same path again replaces it whole.
/// (Foundation has no gzip on Linux. libdeflate rather than zlib: a sample file is compressed whole, which
/// is what libdeflate does, at level 1 about twice as fast as zlib and a little smaller — seed-format
/// samples: 638 against 298 MB/s, 12.3× against 11.9× smaller.)
enum GzipFile {
    static func write(_ data: [UInt8], to path: String, level: Int32) throws {
        let directory = (path as NSString).deletingLastPathComponent
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let compressed = try compress(data, level: level)
        let temporary = path + ".tmp-\(getpid())"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        guard fd >= 0 else { throw ProcessorError.storage("cannot create \(temporary): errno \(errno)") }
        var written = 0
        while written < compressed.count {
            let result = compressed.withUnsafeBytes {
                Glibc.write(fd, $0.baseAddress! + written, compressed.count - written)
            }
            guard result > 0 else {
                close(fd)
                throw ProcessorError.storage("cannot write \(temporary): errno \(errno)")
            }
            written += result
        }
        // A file the disk did not take (fsync or close failing: full, I/O error) is an error, never a
        // committed batch whose samples are missing.
        guard fsync(fd) == 0 else {
            let failed = errno
            close(fd)
            throw ProcessorError.storage("cannot write \(temporary) to disk (fsync): errno \(failed)")
        }
        guard close(fd) == 0 else { throw ProcessorError.storage("cannot close \(temporary): errno \(errno)") }
        guard rename(temporary, path) == 0 else {
            throw ProcessorError.storage("cannot rename to \(path): errno \(errno)")
        }
        let directoryFD = open(directory, O_RDONLY)
        guard directoryFD >= 0 else { throw ProcessorError.storage("cannot open \(directory): errno \(errno)") }
        defer { close(directoryFD) }
        guard fsync(directoryFD) == 0 else {
            throw ProcessorError.storage("cannot make the new name in \(directory) durable (fsync): errno \(errno)")
        }
    }

    static func compress(_ data: [UInt8], level: Int32) throws -> [UInt8] {
        guard let compressor = libdeflate_alloc_compressor(level) else {
            throw ProcessorError.storage("libdeflate: no compressor for level \(level)")
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
        guard !output.isEmpty else { throw ProcessorError.storage("libdeflate: gzip compression failed") }
        return output
    }
}
