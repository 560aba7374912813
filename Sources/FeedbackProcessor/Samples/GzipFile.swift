import Deflate
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Writes a gzip file atomically: to a temporary name, fsynced, then renamed into place, so a reader (or a
/// crash) never sees half a file, and writing the same path again replaces it whole.
/// (Foundation has no gzip on Linux: see `Deflate` for the compressors.)
enum GzipFile {
    /// `data` compressed at `level` (1 fastest to 9 smallest), written to `path`.
    static func write(_ data: [UInt8], to path: String, level: Int32) throws {
        try write(compressed: try compress(data, level: level), to: path)
    }

    /// A whole gzip member (compressed already) written to `path`.
    static func write(compressed: [UInt8], to path: String) throws {
        let directory = (path as NSString).deletingLastPathComponent
        try FileManager.default.createDirectory(
            atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let temporary = path + ".tmp-\(getpid())"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
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
        do { return try Deflate.gzip(data, level: level) } catch {
            throw ProcessorError.storage("cannot compress a sample file: \(error)")
        }
    }
}
