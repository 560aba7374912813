import CHiredis

#if canImport(Glibc)
    import Glibc
#endif

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
/// all replies read — one round trip per pipeline. Connects with the configuration's connect timeout, gives
/// up a read or write after its command timeout, and logs in (AUTH, SELECT) on every connect. After a
/// connection failure (server gone, timeout) the context is dropped — hiredis's is dead after an error — and
/// the next `pipeline` connects again. Not thread-safe: one connection per thread.
///
/// ```swift
/// let redis = try RedisConnection(configuration: RedisConfiguration(parsing: "redis://127.0.0.1:6379/0"))
/// let replies = try redis.pipeline([["SET", "k", "v"], ["GET", "k"]])   // [.status("OK"), .string("v")]
/// ```
public final class RedisConnection {
    public let configuration: RedisConfiguration
    /// nil after a connection failure, until the next `pipeline` connects again.
    private var context: UnsafeMutablePointer<redisContext>?

    public var host: String { configuration.host }
    public var port: Int { configuration.port }
    /// Whether a live context is held (false after a connection failure, before the next `pipeline`).
    public var isConnected: Bool { context != nil }

    /// Connects (and logs in) now: a wrong address or password fails here.
    public init(configuration: RedisConfiguration) throws(RedisError) {
        self.configuration = configuration
        context = try Self.connect(configuration)
    }

    public convenience init(host: String, port: Int) throws(RedisError) {
        try self.init(configuration: RedisConfiguration(host: host, port: port))
    }

    deinit { if let context { redisFree(context) } }

    /// Drops the connection; the next `pipeline` connects again.
    public func disconnect() {
        if let context { redisFree(context) }
        context = nil
    }

    /// Sends `commands` in one pipeline and returns their replies in order, connecting first if the last
    /// exchange failed. A Redis error reply is returned as `.error`; a connection failure throws (kind
    /// `.connection`) and drops the connection: some of the commands may have run.
    public func pipeline(_ commands: [[String]]) throws(RedisError) -> [RedisReply] {
        let context: UnsafeMutablePointer<redisContext>
        if let live = self.context {
            context = live
        } else {
            context = try Self.connect(configuration)
            self.context = context
        }
        do {
            return try Self.exchange(commands, on: context, configuration)
        } catch {
            disconnect()
            throw error
        }
    }

    private static func connect(_ configuration: RedisConfiguration) throws(RedisError)
        -> UnsafeMutablePointer<redisContext>
    {
        let address = configuration.address
        guard
            let context = redisConnectWithTimeout(
                configuration.host, Int32(configuration.port), timeval(configuration.connectTimeout))
        else {
            throw RedisError(kind: .connection, message: "cannot allocate a Redis connection to \(address)")
        }
        var ready = false
        defer { if !ready { redisFree(context) } }
        if context.pointee.err != 0 {
            throw RedisError(
                kind: .connection,
                message: "cannot connect to Redis at \(address): \(errorText(context)); is redis-server running?")
        }
        guard redisSetTimeout(context, timeval(configuration.commandTimeout)) == REDIS_OK else {
            throw RedisError(kind: .connection, message: "cannot set a timeout on the connection to \(address)")
        }
        _ = redisEnableKeepAlive(context)
        var login: [[String]] = []
        if let password = configuration.password {
            login.append(configuration.user.map { ["AUTH", $0, password] } ?? ["AUTH", password])
        }
        if configuration.database != 0 { login.append(["SELECT", String(configuration.database)]) }
        // Also tells a server that wants a password (NOAUTH) from one that does not, before any real command.
        login.append(["PING"])
        do {
            let replies = try exchange(login, on: context, configuration)
            for (command, reply) in zip(login, replies) {
                guard case .error(let message) = reply else { continue }
                if message.hasPrefix("LOADING") {
                    throw RedisError(kind: .connection, message: "Redis at \(address) is still loading: \(message)")
                }
                if message.hasPrefix("NOAUTH") {
                    throw RedisError(
                        kind: .authentication,
                        message: "Redis at \(address) needs a password: \(message); set "
                            + "\(RedisConfiguration.passwordVariable) or put it in the URL (redis://:PASSWORD@host:port)"
                    )
                }
                if command[0] == "AUTH" {
                    let who = configuration.user.map { "user \($0)" } ?? "the default user"
                    throw RedisError(
                        kind: .authentication,
                        message: "Redis at \(address) refused the login as \(who): \(message); check the password "
                            + "(\(RedisConfiguration.passwordVariable) or the URL's) and the user "
                            + "(\(RedisConfiguration.userVariable) or the URL's)")
                }
                if command[0] == "SELECT" {
                    throw RedisError(
                        kind: .configuration,
                        message: "Redis at \(address) refused SELECT \(configuration.database): \(message); choose a "
                            + "database the server has (redis.conf `databases`)")
                }
                throw RedisError(kind: .reply, message: "Redis at \(address) answered PING with: \(message)")
            }
        }
        ready = true
        return context
    }

    private static func timeval(_ duration: Duration) -> Glibc.timeval {
        let (seconds, attoseconds) = duration.components
        return Glibc.timeval(tv_sec: Int(max(0, seconds)), tv_usec: Int(max(0, attoseconds) / 1_000_000_000_000))
    }

    private static func exchange(
        _ commands: [[String]], on context: UnsafeMutablePointer<redisContext>, _ configuration: RedisConfiguration
    ) throws(RedisError) -> [RedisReply] {
        var guardState = feedback_sigpipe_guard()
        feedback_sigpipe_block(&guardState)
        defer { feedback_sigpipe_restore(&guardState) }
        for command in commands {
            let arguments = command.map { Array($0.utf8) }
            let status: Int32 = withPointers(arguments) { pointers, lengths in
                redisAppendCommandArgv(context, Int32(arguments.count), pointers, lengths)
            }
            guard status == REDIS_OK else {
                throw RedisError(
                    kind: .connection,
                    message: "cannot send to Redis at \(configuration.address): \(errorText(context))")
            }
        }
        var replies: [RedisReply] = []
        replies.reserveCapacity(commands.count)
        for _ in commands {
            var raw: UnsafeMutableRawPointer?
            guard redisGetReply(context, &raw) == REDIS_OK, let raw else {
                var reason = errorText(context)
                // A read timeout shows as EAGAIN.
                if reason.contains("temporarily unavailable") || reason.contains("timed out") {
                    reason = "no reply within \(configuration.commandTimeout) (command timeout)"
                }
                throw RedisError(
                    kind: .connection, message: "lost the connection to Redis at \(configuration.address): \(reason)")
            }
            let reply = raw.assumingMemoryBound(to: redisReply.self)
            replies.append(convert(reply))
            freeReplyObject(raw)
        }
        return replies
    }

    private static func withPointers<T>(
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

/// A Redis failure, with what to check. Never holds a password.
///
/// ```swift
/// do { _ = try RedisConnection(configuration: configuration) } catch where error.kind == .connection {
///     // down or unreachable: try again later
/// }
/// ```
public struct RedisError: Error, Sendable, CustomStringConvertible {
    public enum Kind: Sendable, Hashable {
        /// The server cannot be reached or the connection broke (refused, reset, timeout): try again later.
        case connection
        /// The server refused the login (wrong password or user, or it needs one).
        case authentication
        /// The address or options are wrong (bad URL, a database the server lacks, TLS unsupported).
        case configuration
        /// The server answered with an error where none was expected.
        case reply
    }

    public var kind: Kind
    public var message: String
    public init(kind: Kind = .reply, message: String) {
        self.kind = kind
        self.message = message
    }
    public var description: String { message }
}
