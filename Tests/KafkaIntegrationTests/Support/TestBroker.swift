import FeedbackBench
import Foundation

/// A real Kafka-compatible broker (Tansu) on a 127.0.0.1 port, for the tests: in memory (fast, loses
/// everything on restart) or on S3 storage served by moto (survives a SIGKILL restart).
final class TestBroker: @unchecked Sendable {
    // @unchecked Sendable: `process` is replaced only by kill()/restart(), which tests call from one task.
    enum Storage {
        case memory
        case s3(ObjectStore)
    }

    let port: Int
    let storage: Storage
    var address: String { "127.0.0.1:\(port)" }
    private var process: SupervisedProcess?

    /// One in-memory broker shared by the tests that need no restarts.
    static let shared: Result<TestBroker, TestEnvironment.Failure> = {
        do { return .success(try TestBroker()) } catch let error as TestEnvironment.Failure {
            return .failure(error)
        } catch { return .failure(.init(description: "\(error)")) }
    }()

    static func get() throws -> TestBroker { try shared.get() }

    /// Starts a broker (on `port`, or a free one); `startNow: false` only reserves the port.
    init(port: Int? = nil, storage: Storage = .memory, startNow: Bool = true) throws {
        guard FileManager.default.isExecutableFile(atPath: TestEnvironment.tansu) else {
            throw TestEnvironment.Failure(
                description:
                    "no Tansu broker at \(TestEnvironment.tansu): run scripts/install-deps.sh (or set TANSU_BIN)")
        }
        self.port = try port ?? SupervisedProcess.freePort()
        self.storage = storage
        if startNow { try start() }
    }

    deinit { process?.kill() }

    func start() throws {
        let url = "tcp://127.0.0.1:\(port)"
        var arguments = ["broker", "--listener-url", url, "--advertised-listener-url", url, "--storage-engine"]
        var environment: [String: String] = [:]
        switch storage {
        case .memory:
            arguments.append("memory://tansu/")
        case .s3(let store):
            arguments.append("s3://\(store.bucket)/")
            environment = store.clientEnvironment
        }
        process = try SupervisedProcess(
            name: "broker", executable: TestEnvironment.tansu, arguments: arguments, port: port,
            environment: TestEnvironment.childEnvironment.merging(environment) { $1 })
    }

    /// SIGKILLs the broker.
    func kill() {
        process?.kill()
        process = nil
    }

    /// Creates a topic with `partitions` partitions and returns its name (unique per call).
    func createTopic(_ prefix: String, partitions: Int = 4) throws -> String {
        let name = "\(prefix)-\(UUID().uuidString.prefix(8).lowercased())"
        try TestEnvironment.run(
            TestEnvironment.tansu,
            ["topic", "create", name, "--partitions", String(partitions), "--broker", "tcp://\(address)"])
        return name
    }
}

/// An S3-compatible object store (moto, from PyPI) with one bucket, so that Tansu's data survives restarts.
final class ObjectStore: Sendable {
    let port: Int
    let bucket = "tansu"
    private let process: SupervisedProcess

    var clientEnvironment: [String: String] {
        [
            "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test", "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_ENDPOINT": "http://127.0.0.1:\(port)", "AWS_ALLOW_HTTP": "true",
        ]
    }

    init() throws {
        port = try SupervisedProcess.freePort()
        process = try SupervisedProcess(
            name: "moto", executable: TestEnvironment.python,
            arguments: ["-m", "moto.server", "-H", "127.0.0.1", "-p", String(port)], port: port)
        try TestEnvironment.run(
            TestEnvironment.python,
            [
                "-c",
                "import urllib.request; urllib.request.urlopen(urllib.request.Request('http://127.0.0.1:\(port)/\(bucket)', method='PUT'))",
            ])
    }

    deinit { process.kill() }
}
