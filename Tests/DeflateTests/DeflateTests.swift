import Deflate
import Foundation
import Testing

/// The compressors behind sample files and state segments: what they write is what gzip and inflate read.
@Suite struct DeflateTests {
    /// Sample-like lines, and bytes that do not compress (stored blocks: the output bound).
    static let lines = Array(
        (0..<20_000).map {
            #"{"clicked":\#($0 % 7 == 0),"item_id":"item_\#($0 * 7919 % 10_000)","position":\#($0 % 50)}"# + "\n"
        }
        .joined().utf8)
    static let noise: [UInt8] = {
        var generator = SystemRandomNumberGenerator()
        return (0..<300_000).map { _ in UInt8.random(in: 0...255, using: &generator) }
    }()

    @Test(arguments: [Int32(1), 2, 6, 9])
    func gzipMembersAreReadByGzip(level: Int32) throws {
        for data in [Self.lines, Self.noise, []] {
            let file = try Deflate.gzip(data, level: level)
            #expect(file.starts(with: [0x1F, 0x8B]))
            #expect(try Self.gunzip(file) == data, "level \(level), \(data.count) bytes")
        }
        let size = try Deflate.gzip(Self.lines, level: level).count
        #expect(size < Self.lines.count / 2, "\(size) of \(Self.lines.count)")
    }

    /// A stream fed in pieces — one byte, odd sizes, whole — is one gzip member of everything fed, in order.
    @Test(arguments: [1, 4_093, 65_536, 1 << 30])
    func gzipStreamsFedInPiecesAreReadByGzip(piece: Int) throws {
        for data in [Self.lines, Self.noise, []] {
            let stream = try GzipStream()
            var offset = 0
            while offset < min(data.count, piece == 1 ? 5_000 : data.count) {
                let end = min(offset + piece, data.count)
                try data[offset..<end].withUnsafeBytes { try stream.append($0) }
                offset = end
            }
            let file = try stream.finish()
            #expect(try Self.gunzip(file) == Array(data[..<offset]), "pieces of \(piece), \(data.count) bytes")
            #expect(throws: DeflateError.self) { try [UInt8(1)].withUnsafeBytes { try stream.append($0) } }
        }
        let stream = try GzipStream()
        try Self.lines.withUnsafeBytes { try stream.append($0) }
        let size = try stream.finish().count
        #expect(size < Self.lines.count / 2, "\(size) of \(Self.lines.count)")
    }

    @Test func levelsOutsideOneToNineAreRefused() {
        for level: Int32 in [0, 10, -1] {
            #expect(throws: DeflateError.self) { _ = try Deflate.gzip(Self.lines, level: level) }
        }
    }

    @Test func rawStreamsInflateBehindTheirHeader() throws {
        for data in [Self.lines, Self.noise, []] {
            let blob = try #require(Deflate.deflate(data, after: [0xDF, 7]))
            #expect(blob.starts(with: [0xDF, 7]))
            #expect(try Deflate.inflate(blob[2...], count: data.count) == data)
        }
    }

    @Test func aDamagedOrMiscountedStreamIsAnError() throws {
        let blob = try #require(Deflate.deflate(Self.lines, after: []))
        #expect(throws: DeflateError.self) { _ = try Deflate.inflate(blob[...], count: Self.lines.count - 1) }
        #expect(throws: DeflateError.self) { _ = try Deflate.inflate(blob[...], count: Self.lines.count + 1) }
        #expect(throws: DeflateError.self) { _ = try Deflate.inflate(blob.dropLast(9), count: Self.lines.count) }
        #expect(throws: DeflateError.self) { _ = try Deflate.inflate((blob + [0])[...], count: Self.lines.count) }
    }

    /// `gzip -dc` of `file`; an error when gzip finds it damaged.
    static func gunzip(_ file: [UInt8]) throws -> [UInt8] {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("deflate-\(UUID().uuidString).gz")
        try Data(file).write(to: path)
        defer { try? FileManager.default.removeItem(at: path) }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/gzip")
        process.arguments = ["-dc", path.path]
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw CocoaError(.fileReadCorruptFile, userInfo: [NSFilePathErrorKey: path.path])
        }
        return [UInt8](data)
    }
}
