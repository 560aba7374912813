import Foundation

/// A background server (broker, object store) for tests and benchmarks, supervised by a tiny shell watchdog that reads
/// our pipe: when the test process exits — even when it is killed — or when `kill()` closes the pipe,
/// the watchdog SIGKILLs the server (some servers ignore an inherited SIGTERM). Nothing outlives a test run.
public final class SupervisedProcess: @unchecked Sendable {
    // @unchecked Sendable: the fields are immutable after init; kill() is idempotent through FileHandle.
    public let port: Int
    public let logPath: String
    /// Where the watchdog writes the server's process id.
    private let pidPath: String
    private let watchdog: Process
    private let lifeline: Pipe

    /// Starts `executable arguments...` with `environment` additions and waits until it listens on `port`.
    public init(
        name: String, executable: String, arguments: [String], port: Int, environment: [String: String] = [:]
    ) throws {
        self.port = port
        logPath =
            FileManager.default.temporaryDirectory.appendingPathComponent("feedback-test-\(name)-\(port).log").path
        pidPath = logPath + ".pid"
        let quoted = ([executable] + arguments).map { "'" + $0.replacingOccurrences(of: "'", with: "'\\''") + "'" }
        let script = """
            \(quoted.joined(separator: " ")) >>'\(logPath)' 2>&1 &
            pid=$!
            echo $pid >'\(pidPath)'
            read _ignored
            kill -9 $pid 2>/dev/null
            """
        watchdog = Process()
        watchdog.executableURL = URL(fileURLWithPath: "/bin/sh")
        watchdog.arguments = ["-c", script]
        watchdog.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        lifeline = Pipe()
        watchdog.standardInput = lifeline
        watchdog.standardOutput = FileHandle.nullDevice
        watchdog.standardError = FileHandle.nullDevice
        try watchdog.run()
        let deadline = ContinuousClock.now + .seconds(20)
        while !Self.isListening(port) {
            if ContinuousClock.now > deadline || !watchdog.isRunning {
                let log = (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? ""
                throw ProcessFailure(
                    description: "\(name) did not listen on 127.0.0.1:\(port): \(log.suffix(2000))")
            }
            usleep(20_000)
        }
    }

    /// CPU time the server has used so far (user + system, all threads), in seconds; nil if unknown.
    public var cpuSeconds: Double? {
        guard let text = try? String(contentsOfFile: pidPath, encoding: .utf8),
            let pid = Int(text.trimmingCharacters(in: .whitespacesAndNewlines)),
            let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let end = stat.lastIndex(of: ")")
        else { return nil }
        // After "pid (comm)": state is field 3, utime and stime are fields 14 and 15, in clock ticks.
        let fields = stat[stat.index(after: end)...].split(separator: " ")
        guard fields.count > 12, let user = Double(fields[11]), let system = Double(fields[12]) else { return nil }
        return (user + system) / Double(sysconf(Int32(_SC_CLK_TCK)))
    }

    /// SIGKILLs the server and waits until its port is closed.
    public func kill() {
        try? lifeline.fileHandleForWriting.close()
        watchdog.waitUntilExit()
        let deadline = ContinuousClock.now + .seconds(5)
        while Self.isListening(port), ContinuousClock.now < deadline { usleep(20_000) }
    }

    public static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0
            }
        }
        guard bound else { throw ProcessFailure(description: "cannot find a free port") }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    public static func isListening(_ port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = UInt16(port).bigEndian
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
            }
        }
    }
}

/// A helper process that failed to start or to finish; the text says what happened.
public struct ProcessFailure: Error, CustomStringConvertible {
    public var description: String
    public init(description: String) { self.description = description }
}
