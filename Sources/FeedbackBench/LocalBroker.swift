import Foundation

/// A Tansu broker (in memory) on a free 127.0.0.1 port for the benchmarks, and the tools around it.
public final class LocalBroker: @unchecked Sendable {
    // @unchecked Sendable: `process` is replaced only by start()/stop(), called from the benchmark's task.
    public let port: Int
    public let tansu: String
    public var address: String { "127.0.0.1:\(port)" }
    private var process: SupervisedProcess?

    public init(tansu: String, startNow: Bool = true) throws {
        guard FileManager.default.isExecutableFile(atPath: tansu) else {
            throw ProcessFailure(
                description: "no Tansu broker at \(tansu): run scripts/install-deps.sh or pass --tansu")
        }
        self.tansu = tansu
        port = try SupervisedProcess.freePort()
        if startNow { try start() }
    }

    public func start() throws {
        let url = "tcp://127.0.0.1:\(port)"
        process = try SupervisedProcess(
            name: "bench-broker", executable: tansu,
            arguments: [
                "broker", "--listener-url", url, "--advertised-listener-url", url, "--storage-engine",
                "memory://tansu/",
            ], port: port)
    }

    /// CPU time the broker has used so far, in seconds (nil when not running or unknown).
    public var cpuSeconds: Double? { process?.cpuSeconds }

    /// Stops the broker (its in-memory data is gone).
    public func stop() {
        process?.kill()
        process = nil
    }

    public func createTopic(_ name: String, partitions: Int = 4) throws {
        try Shell.run(
            tansu, ["topic", "create", name, "--partitions", String(partitions), "--broker", "tcp://\(address)"])
    }

    deinit { stop() }
}

/// Runs helper commands to completion.
package enum Shell {
    @discardableResult
    package static func run(_ executable: String, _ arguments: [String], stdin: String? = nil) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        let output = Pipe()
        let errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        if let stdin {
            process.standardInput = FileHandle(forReadingAtPath: stdin)
        } else {
            process.standardInput = FileHandle.nullDevice
        }
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        let errorText = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw ProcessFailure(
                description:
                    "\(executable) \(arguments.joined(separator: " ")) exited \(process.terminationStatus): \(errorText.suffix(1500))"
            )
        }
        return String(decoding: data, as: UTF8.self)
    }

    static func which(_ name: String) -> String? {
        for directory in (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin").split(separator: ":") {
            let path = "\(directory)/\(name)"
            if FileManager.default.isExecutableFile(atPath: path) { return path }
        }
        return nil
    }
}
