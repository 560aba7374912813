import Foundation

/// A real Kafka-compatible broker (Tansu, in-memory storage) on a free 127.0.0.1 port, for the tests.
///
/// It runs under a tiny shell watchdog that reads our pipe: when the test process exits — even when it is
/// killed — the pipe closes and the watchdog kills the broker, so no broker outlives the test run.
final class TestBroker: @unchecked Sendable {
    // @unchecked Sendable: all fields are immutable after init; Process and Pipe are used from one place only.
    let port: Int
    var address: String { "127.0.0.1:\(port)" }
    private let watchdog: Process
    private let lifeline: Pipe

    /// One broker shared by every test of the run.
    static let shared: Result<TestBroker, TestEnvironment.Failure> = {
        do { return .success(try TestBroker()) } catch let error as TestEnvironment.Failure {
            return .failure(error)
        } catch { return .failure(.init(description: "\(error)")) }
    }()

    static func get() throws -> TestBroker { try shared.get() }

    init() throws {
        let tansu = TestEnvironment.tansu
        guard FileManager.default.isExecutableFile(atPath: tansu) else {
            throw TestEnvironment.Failure(
                description: "no Tansu broker at \(tansu): run scripts/install-deps.sh (or set TANSU_BIN)")
        }
        port = try Self.freePort()
        let log = FileManager.default.temporaryDirectory.appendingPathComponent("feedback-test-broker-\(port).log").path
        let url = "tcp://127.0.0.1:\(port)"
        let script = """
            "$0" broker --listener-url \(url) --advertised-listener-url \(url) --storage-engine memory://tansu/ \
              >\(log) 2>&1 &
            pid=$!
            read _ignored
            kill -9 $pid 2>/dev/null
            """
        watchdog = Process()
        watchdog.executableURL = URL(fileURLWithPath: "/bin/sh")
        watchdog.arguments = ["-c", script, tansu]
        lifeline = Pipe()
        watchdog.standardInput = lifeline
        watchdog.standardOutput = FileHandle.nullDevice
        watchdog.standardError = FileHandle.nullDevice
        try watchdog.run()
        let deadline = ContinuousClock.now + .seconds(10)
        while !Self.isListening(port) {
            if ContinuousClock.now > deadline {
                let text = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
                throw TestEnvironment.Failure(description: "the test broker did not listen on \(address): \(text)")
            }
            usleep(20_000)
        }
    }

    /// Creates a topic with `partitions` partitions and returns its name (unique per call).
    func createTopic(_ prefix: String, partitions: Int = 4) throws -> String {
        let name = "\(prefix)-\(UUID().uuidString.prefix(8).lowercased())"
        try TestEnvironment.run(
            TestEnvironment.tansu,
            ["topic", "create", name, "--partitions", String(partitions), "--broker", "tcp://\(address)"])
        return name
    }

    static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0
            }
        }
        guard bound else { throw TestEnvironment.Failure(description: "cannot find a free port") }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    static func isListening(_ port: Int) -> Bool {
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
