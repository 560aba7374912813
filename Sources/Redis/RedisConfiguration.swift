/// Where a Redis is and how to log in to it: address, ACL user and password, database, timeouts. Read from
/// `host:port` or a `redis://[user:password@]host[:port][/db]` URL; the password (and the user) can come
/// from the environment instead, so that it need not be on a command line. Its `description` never shows
/// the password.
///
/// ```swift
/// // FEEDBACK_REDIS_PASSWORD=secret in the environment
/// let configuration = try RedisConfiguration(parsing: "redis://10.0.0.5:6380/3")
/// print(configuration)  // redis://:***@10.0.0.5:6380/3
/// let redis = try RedisConnection(configuration: configuration)  // AUTH secret, SELECT 3
/// ```
public struct RedisConfiguration: Sendable, Hashable, CustomStringConvertible {
    /// The environment variable read for the password when the URL has none.
    public static let passwordVariable = "FEEDBACK_REDIS_PASSWORD"
    /// The environment variable read for the ACL user when the URL has none.
    public static let userVariable = "FEEDBACK_REDIS_USER"

    public var host: String
    public var port: Int
    /// The ACL user (Redis 6+); nil logs in as `default` with `AUTH password`.
    public var user: String?
    /// Sent with AUTH on every (re)connect; nil sends no AUTH.
    public var password: String?
    /// Selected on every (re)connect.
    public var database: Int
    /// How long a connect may take.
    public var connectTimeout: Duration
    /// How long one read or write of a command may block before the connection is given up.
    public var commandTimeout: Duration

    public init(
        host: String, port: Int = 6379, user: String? = nil, password: String? = nil, database: Int = 0,
        connectTimeout: Duration = .seconds(2), commandTimeout: Duration = .seconds(5)
    ) {
        self.host = host
        self.port = port
        self.user = user
        self.password = password
        self.database = database
        self.connectTimeout = connectTimeout
        self.commandTimeout = commandTimeout
    }

    /// Reads `host:port` or `redis://[user:password@]host[:port][/db]` (user and password percent-encoded;
    /// an IPv6 host in brackets). A password or user missing from the text is taken from
    /// `FEEDBACK_REDIS_PASSWORD` / `FEEDBACK_REDIS_USER` in `environment`. `rediss://` (TLS) is refused:
    /// this build's hiredis (0.14) has no TLS. Errors say what to fix and never repeat the password.
    public init(parsing text: String, environment: [String: String] = [:]) throws(RedisError) {
        let example = "write host:port or redis://[user:password@]host:port[/db], e.g. redis://127.0.0.1:6379/0"
        func failure(_ problem: String) -> RedisError {
            RedisError(kind: .configuration, message: "Redis address \(Self.redacted(text)): \(problem); \(example)")
        }
        var rest = Substring(text)
        var user: String?
        var password: String?
        var database = 0
        if let schemeEnd = rest.firstRange(of: "://") {
            let scheme = rest[..<schemeEnd.lowerBound].lowercased()
            if scheme == "rediss" {
                throw RedisError(
                    kind: .configuration,
                    message: "Redis address \(Self.redacted(text)): rediss:// (TLS) is not supported by this build "
                        + "(libhiredis 0.14 has no hiredis_ssl); use redis:// on a trusted network or a TLS tunnel "
                        + "(stunnel, spiped) to the server")
            }
            guard scheme == "redis" else { throw failure("unknown scheme \(scheme)://") }
            rest = rest[schemeEnd.upperBound...]
            if let query = rest.firstIndex(where: { $0 == "?" || $0 == "#" }) {
                guard rest[query...].count == 1 else { throw failure("options after ? are not supported") }
                rest = rest[..<query]
            }
            if let slash = rest.firstIndex(of: "/") {
                let path = rest[rest.index(after: slash)...]
                if !path.isEmpty {
                    guard let number = Int(path), number >= 0 else {
                        throw failure("the database after / must be a number ≥ 0, not \(path)")
                    }
                    database = number
                }
                rest = rest[..<slash]
            }
            if let at = rest.lastIndex(of: "@") {
                let userInfo = rest[..<at]
                rest = rest[rest.index(after: at)...]
                // A lone word before @ is a user to some clients and a password to others: asked to say which.
                guard let colon = userInfo.firstIndex(of: ":") else {
                    throw failure("write user:password@ or :password@ before the host")
                }
                guard let decodedName = Self.percentDecoded(userInfo[..<colon]) else {
                    throw failure("bad %-escape in the user")
                }
                if !decodedName.isEmpty { user = decodedName }
                guard let decoded = Self.percentDecoded(userInfo[userInfo.index(after: colon)...]) else {
                    throw failure("bad %-escape in the password")
                }
                if !decoded.isEmpty { password = decoded }
            }
        } else if text.contains("@") || text.contains("/") {
            throw failure("a user, password or database needs the redis:// form")
        }
        // host, host:port, [v6], [v6]:port
        var host: Substring
        var portText: Substring?
        if rest.hasPrefix("[") {
            guard let close = rest.firstIndex(of: "]") else { throw failure("unclosed [ in the host") }
            host = rest[rest.index(after: rest.startIndex)..<close]
            let after = rest[rest.index(after: close)...]
            if !after.isEmpty {
                guard after.hasPrefix(":") else { throw failure("expected :port after ]") }
                portText = after.dropFirst()
            }
        } else if let colon = rest.lastIndex(of: ":") {
            host = rest[..<colon]
            portText = rest[rest.index(after: colon)...]
            if host.contains(":") { throw failure("put an IPv6 host in brackets, e.g. [::1]:6379") }
        } else {
            host = rest
        }
        guard !host.isEmpty else { throw failure("no host") }
        var port = 6379
        if let portText {
            guard let number = Int(portText), (1...65_535).contains(number) else {
                throw failure("the port must be 1-65535, not \(portText.isEmpty ? "empty" : String(portText))")
            }
            port = number
        } else if !text.contains("://") {
            throw failure("no port")
        }
        self.init(
            host: String(host), port: port,
            user: user ?? environment[Self.userVariable].flatMap { $0.isEmpty ? nil : $0 },
            password: password ?? environment[Self.passwordVariable].flatMap { $0.isEmpty ? nil : $0 },
            database: database)
    }

    /// `host:port` (IPv6 in brackets).
    public var address: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }

    /// The URL with the password as `***`.
    public var description: String {
        var login = ""
        if user != nil || password != nil { login = (user ?? "") + (password == nil ? "" : ":***") + "@" }
        return "redis://\(login)\(address)/\(database)"
    }

    /// `text` with whatever could be a password (between `:` and `@` of a URL's authority) as `***`.
    static func redacted(_ text: String) -> String {
        guard let schemeEnd = text.firstRange(of: "://") else {
            // No scheme: `host:port`, or something mistyped; hide everything before an @.
            guard let at = text.lastIndex(of: "@") else { return text }
            return "***" + text[at...]
        }
        let authorityEnd = text[schemeEnd.upperBound...].firstIndex(of: "/") ?? text.endIndex
        guard let at = text[schemeEnd.upperBound..<authorityEnd].lastIndex(of: "@") else { return text }
        let userInfo = text[schemeEnd.upperBound..<at]
        guard let colon = userInfo.firstIndex(of: ":") else {
            return String(text[..<schemeEnd.upperBound]) + "***" + text[at...]
        }
        return String(text[..<text.index(after: colon)]) + "***" + text[at...]
    }

    private static func percentDecoded(_ text: Substring) -> String? {
        var bytes: [UInt8] = []
        var iterator = Array(text.utf8).makeIterator()
        while let byte = iterator.next() {
            guard byte == UInt8(ascii: "%") else {
                bytes.append(byte)
                continue
            }
            guard let high = iterator.next().flatMap(hexValue), let low = iterator.next().flatMap(hexValue) else {
                return nil
            }
            bytes.append(high << 4 | low)
        }
        return String(validating: bytes, as: UTF8.self)
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}
