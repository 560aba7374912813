import CZlib
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Writes a gzip file atomically: to a temporary name, fsynced, then renamed into place, so a reader (or a
/// crash) never sees half a file, and writing the same path again replaces it whole.
/// (Foundation has no gzip on Linux; zlib is the well-kept base.)
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
        fsync(fd)
        close(fd)
        guard rename(temporary, path) == 0 else {
            throw ProcessorError.storage("cannot rename to \(path): errno \(errno)")
        }
        let directoryFD = open(directory, O_RDONLY)
        if directoryFD >= 0 {
            fsync(directoryFD)
            close(directoryFD)
        }
    }

    static func compress(_ data: [UInt8], level: Int32) throws -> [UInt8] {
        var stream = z_stream()
        guard feedback_gzip_init(&stream, level) == Z_OK else { throw ProcessorError.storage("zlib init failed") }
        defer { deflateEnd(&stream) }
        var output = [UInt8](repeating: 0, count: Int(deflateBound(&stream, UInt(data.count))) + 32)
        let status: Int32 = data.withUnsafeBufferPointer { input in
            output.withUnsafeMutableBufferPointer { out in
                stream.next_in = UnsafeMutablePointer(mutating: input.baseAddress)
                stream.avail_in = UInt32(input.count)
                stream.next_out = out.baseAddress
                stream.avail_out = UInt32(out.count)
                return deflate(&stream, Z_FINISH)
            }
        }
        guard status == Z_STREAM_END else { throw ProcessorError.storage("zlib deflate failed: \(status)") }
        output.removeLast(output.count - Int(stream.total_out))
        return output
    }
}
