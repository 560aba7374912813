import CHiredis

/// A reply from Redis.
public enum RedisReply: Sendable, Hashable {
    case string(String)
    case integer(Int64)
    case array([RedisReply])
    case status(String)
    case error(String)
    case null
}

/// A blocking connection to Redis (hiredis), sending commands in pipelines: all commands are written, then
/// all replies read — one round trip per pipeline. Not thread-safe: one connection per thread.
///
/// ```swift
/// let redis = try RedisConnection(host: "127.0.0.1", port: 6379)
/// let replies = try redis.pipeline([["SET", "k", "v"], ["GET", "k"]])   // [.status("OK"), .string("v")]
/// ```
public final class RedisConnection {
    private let context: UnsafeMutablePointer<redisContext>
    public let host: String
    public let port: Int

    public init(host: String, port: Int) throws(RedisError) {
        guard let context = redisConnect(host, Int32(port)) else {
            throw RedisError(message: "cannot allocate a Redis connection to \(host):\(port)")
        }
        if context.pointee.err != 0 {
            let reason = Self.errorText(context)
            redisFree(context)
            throw RedisError(message: "cannot connect to Redis at \(host):\(port): \(reason); is redis-server running?")
        }
        self.context = context
        self.host = host
        self.port = port
    }

    deinit { redisFree(context) }

    /// Sends `commands` in one pipeline and returns their replies in order. A Redis error reply is returned
    /// as `.error`; a connection failure throws.
    public func pipeline(_ commands: [[String]]) throws(RedisError) -> [RedisReply] {
        for command in commands {
            let arguments = command.map { Array($0.utf8) }
            let status: Int32 = withPointers(arguments) { pointers, lengths in
                redisAppendCommandArgv(context, Int32(arguments.count), pointers, lengths)
            }
            guard status == REDIS_OK else {
                throw RedisError(message: "Redis write failed: \(Self.errorText(context))")
            }
        }
        var replies: [RedisReply] = []
        replies.reserveCapacity(commands.count)
        for _ in commands {
            var raw: UnsafeMutableRawPointer?
            guard redisGetReply(context, &raw) == REDIS_OK, let raw else {
                throw RedisError(message: "Redis read failed: \(Self.errorText(context))")
            }
            let reply = raw.assumingMemoryBound(to: redisReply.self)
            replies.append(Self.convert(reply))
            freeReplyObject(raw)
        }
        return replies
    }

    private func withPointers<T>(
        _ arguments: [[UInt8]], _ body: (UnsafeMutablePointer<UnsafePointer<CChar>?>, UnsafePointer<Int>) -> T
    ) -> T {
        let lengths = arguments.map(\.count)
        let buffers = arguments.map { argument -> UnsafeMutablePointer<CChar> in
            let buffer = UnsafeMutablePointer<CChar>.allocate(capacity: max(1, argument.count))
            argument.withUnsafeBytes { bytes in
                if let base = bytes.baseAddress {
                    buffer.update(from: base.assumingMemoryBound(to: CChar.self), count: argument.count)
                }
            }
            return buffer
        }
        defer { buffers.forEach { $0.deallocate() } }
        var pointers = buffers.map { UnsafePointer<CChar>?($0) }
        return pointers.withUnsafeMutableBufferPointer { pointerBuffer in
            lengths.withUnsafeBufferPointer { body(pointerBuffer.baseAddress!, $0.baseAddress!) }
        }
    }

    private static func convert(_ reply: UnsafeMutablePointer<redisReply>) -> RedisReply {
        let value = reply.pointee
        func text() -> String {
            guard let str = value.str else { return "" }
            return String(decoding: UnsafeRawBufferPointer(start: str, count: Int(value.len)), as: UTF8.self)
        }
        switch value.type {
        case REDIS_REPLY_STRING: return .string(text())
        case REDIS_REPLY_INTEGER: return .integer(value.integer)
        case REDIS_REPLY_STATUS: return .status(text())
        case REDIS_REPLY_ERROR: return .error(text())
        case REDIS_REPLY_ARRAY:
            return .array((0..<Int(value.elements)).compactMap { value.element[$0].map(convert) })
        default: return .null
        }
    }

    private static func errorText(_ context: UnsafeMutablePointer<redisContext>) -> String {
        withUnsafeBytes(of: context.pointee.errstr) { bytes in
            String(decoding: bytes.prefix { $0 != 0 }, as: UTF8.self)
        }
    }
}

/// A Redis connection or protocol failure, with what to check.
public struct RedisError: Error, Sendable, CustomStringConvertible {
    public var message: String
    public init(message: String) { self.message = message }
    public var description: String { message }
}
