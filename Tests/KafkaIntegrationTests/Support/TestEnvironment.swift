import FeedbackBench
import Foundation

/// Where the project's downloaded tools live (scripts/install-deps.sh puts them in .deps/).
enum TestEnvironment {
    static let packageRoot: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    static let depsDirectory: URL = {
        if let path = ProcessInfo.processInfo.environment["FEEDBACK_DEPS"], !path.isEmpty {
            return URL(fileURLWithPath: path)
        }
        return packageRoot.appendingPathComponent(".deps")
    }()

    static var tansu: String {
        ProcessInfo.processInfo.environment["TANSU_BIN"].flatMap { $0.isEmpty ? nil : $0 }
            ?? depsDirectory.appendingPathComponent("bin/tansu").path
    }

    /// The project's Python venv (scripts/install-deps.sh), which has moto; else the system's python3.
    static var python: String {
        let venv = depsDirectory.appendingPathComponent("venv/bin/python3").path
        return FileManager.default.isExecutableFile(atPath: venv) ? venv : "/usr/bin/python3"
    }

    /// The environment for child tools: librdkafka 2.16 first (Debian's 2.0.2 cannot talk to Tansu).
    static var childEnvironment: [String: String] {
        var environment = ProcessInfo.processInfo.environment
        let lib = depsDirectory.appendingPathComponent("lib").path
        environment["LD_LIBRARY_PATH"] = lib + (environment["LD_LIBRARY_PATH"].map { ":" + $0 } ?? "")
        return environment
    }

    typealias Failure = ProcessFailure

    /// Runs a command to completion and returns its standard output; throws with its stderr on failure.
    @discardableResult
    static func run(
        _ executable: String, _ arguments: [String], timeout: Duration = .seconds(60),
        describePartialOutput: (Data) -> String = { "\($0.count) bytes of output" }
    ) throws -> Data {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.environment = childEnvironment
        let output = Pipe()
        let errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        process.standardInput = FileHandle.nullDevice
        try process.run()
        // Read while it runs so a full pipe never stalls it.
        let collected = LockedData()
        let reader = Thread { collected.set(output.fileHandleForReading.readDataToEndOfFile()) }
        reader.start()
        let deadline = ContinuousClock.now + timeout
        while process.isRunning {
            if ContinuousClock.now > deadline {
                process.terminate()
                let partial = collected.wait()  // the pipe closes once the process is gone
                throw Failure(
                    description: """
                        \(executable) \(arguments.joined(separator: " ")) timed out after \(timeout), having \
                        written \(describePartialOutput(partial))
                        """)
            }
            usleep(5_000)
        }
        let stderr = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        let stdout = collected.wait()
        guard process.terminationStatus == 0 else {
            throw Failure(
                description:
                    "\(executable) \(arguments.joined(separator: " ")) exited \(process.terminationStatus): \(stderr)")
        }
        return stdout
    }
}

/// A one-shot hand-over of the reader thread's data.
final class LockedData: @unchecked Sendable {
    // @unchecked Sendable: `data` is written once before `ready` is signalled and read only after waiting on it.
    private var data = Data()
    private let ready = DispatchSemaphore(value: 0)
    func set(_ value: Data) {
        data = value
        ready.signal()
    }
    func wait() -> Data {
        ready.wait()
        return data
    }
}
