import Foundation

/// Runs the `feedback` command-line tool built by `swift build` (or FEEDBACK_BIN) as a child process.
final class FeedbackBinary: @unchecked Sendable {
    // @unchecked Sendable: the output buffers are guarded by `lock`; the Process is used from one task.
    static var path: String {
        ProcessInfo.processInfo.environment["FEEDBACK_BIN"].flatMap { $0.isEmpty ? nil : $0 }
            ?? TestEnvironment.packageRoot.appendingPathComponent(".build/debug/feedback").path
    }

    let process = Process()
    private let lock = NSLock()
    private var stdoutData = Data()
    private var stderrData = Data()
    let timeFile: String

    /// Starts `feedback arguments...` in `directory`, measuring its peak RSS with /usr/bin/time.
    init(_ arguments: [String], directory: String) throws {
        guard FileManager.default.isExecutableFile(atPath: Self.path) else {
            throw TestEnvironment.Failure(description: "no feedback binary at \(Self.path): run swift build first")
        }
        timeFile = directory + "/time-\(UUID().uuidString.prefix(6)).txt"
        process.executableURL = URL(fileURLWithPath: "/usr/bin/time")
        process.arguments = ["-f", "%M", "-o", timeFile, Self.path] + arguments
        process.currentDirectoryURL = URL(fileURLWithPath: directory)
        process.environment = TestEnvironment.childEnvironment
        let out = Pipe()
        let err = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = FileHandle.nullDevice
        out.fileHandleForReading.readabilityHandler = { [weak self] handle in
            let data = handle.availableData
            self?.lock.withLock { self?.stdoutData.append(data) }
        }
        err.fileHandleForReading.readabilityHandler = { [weak self] handle in
            let data = handle.availableData
            self?.lock.withLock { self?.stderrData.append(data) }
        }
        try process.run()
    }

    var stdout: String { lock.withLock { String(decoding: stdoutData, as: UTF8.self) } }
    var stderr: String { lock.withLock { String(decoding: stderrData, as: UTF8.self) } }

    /// The highest N of the `recorded N` progress lines so far.
    var recordedProgress: Int {
        stderr.split(separator: "\n").compactMap { line in
            line.hasPrefix("recorded ") ? Int(line.dropFirst("recorded ".count)) : nil
        }.max() ?? 0
    }

    /// Waits for the process to exit (up to `timeout`) and returns its exit status.
    @discardableResult
    func wait(timeout: Duration = .seconds(180)) async throws -> Int32 {
        let deadline = ContinuousClock.now + timeout
        while process.isRunning {
            if ContinuousClock.now > deadline {
                process.terminate()
                throw TestEnvironment.Failure(
                    description: "feedback did not finish in \(timeout): \(stderr.suffix(2000))")
            }
            try await Task.sleep(for: .milliseconds(20))
        }
        try await Task.sleep(for: .milliseconds(50))  // let the pipes drain
        return process.terminationStatus
    }

    /// Sends `signal` to the feedback process itself (the child of /usr/bin/time).
    func signal(_ signal: Int32) {
        let children =
            (try? String(
                contentsOfFile: "/proc/\(process.processIdentifier)/task/\(process.processIdentifier)/children",
                encoding: .utf8)) ?? ""
        for child in children.split(separator: " ").compactMap({ Int32($0) }) { kill(child, signal) }
    }

    /// Runs the feedback process in slices (SIGCONT, `slice`, SIGSTOP) until `condition` holds between two
    /// slices, and returns true with the process stopped there; false, with it running again, when it ended
    /// or `timeout` passed first. A test that must interrupt a run midway cannot lose the race to a machine
    /// fast enough to finish the run between two of its checks. It blocks its thread on purpose: a
    /// `Task.sleep` of a few milliseconds took far longer on CI, where the other tests keep the cooperative
    /// pool's threads busy, and the whole run fitted into one slice.
    func stop(when condition: () -> Bool, slice: Duration = .milliseconds(3), timeout: Duration = .seconds(60))
        -> Bool
    {
        let deadline = ContinuousClock.now + timeout
        let microseconds = useconds_t(
            slice.components.seconds * 1_000_000 + slice.components.attoseconds / 1_000_000_000_000)
        while process.isRunning, ContinuousClock.now < deadline {
            signal(SIGCONT)
            usleep(microseconds)
            signal(SIGSTOP)
            if condition() { return true }
        }
        signal(SIGCONT)
        return false
    }

    /// Peak resident memory in MiB, as /usr/bin/time measured it (after exit).
    var peakRSSMiB: Double {
        let text = (try? String(contentsOfFile: timeFile, encoding: .utf8)) ?? ""
        let kilobytes =
            text.split(separator: "\n").compactMap { Double($0.trimmingCharacters(in: .whitespaces)) }.last ?? 0
        return kilobytes / 1024
    }

    /// The last line of stdout parsed as a JSON object (the produce report).
    var report: [String: Int] {
        guard let line = stdout.split(separator: "\n").last,
            let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
        else { return [:] }
        return object.compactMapValues { $0 as? Int }
    }
}
