import Feedback
import FeedbackLog
import Foundation
import Logging
import ServiceLifecycle
import TestSupport
import Testing

@testable import FeedbackProcessor

/// The processor as a Service: it processes what the log holds and what arrives later, batch after batch,
/// and stops when its service group shuts down gracefully; the store then holds exactly what a direct run
/// of the same events gives.
@Suite struct ProcessorServiceTests {
    func events(_ range: Range<Int>) -> [LogEntry] {
        range.map { index in
            var event = FeedbackEvent(type: index % 3 == 2 ? .click : .impression, itemID: "item_\(index % 7)")
            event.userID = "user_\(index % 5)"
            event.requestID = "req_\(index / 3)"
            event.eventID = "evt_\(index)"
            event.timestampMs = 1_704_067_200_000 + Int64(index) * 1000
            event.labels = ["recall_source": "hot"]
            return LogEntry(key: nil, payload: event.jsonBytes())
        }
    }

    func processor(_ directory: String, log: LocalLog) throws -> FeedbackProcessor {
        try FeedbackProcessor(
            log: log,
            configuration: .init(storePath: directory + "/store.sqlite", samplesDirectory: directory + "/samples"))
    }

    @Test func aServiceProcessesUntilGracefulShutdownAndEqualsADirectRun() async throws {
        let directory = temporaryPath("service")
        let log = try LocalLog(configuration: .init(path: directory + "/events.sqlite"))
        try log.append(events(0..<500))
        let service = ProcessorService(
            processor: try processor(directory, log: log), pollTimeout: .milliseconds(20))
        let group = ServiceGroup(
            configuration: .init(services: [service], logger: Logger(label: "test")))
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            try await Task.sleep(for: .milliseconds(300))
            try log.append(events(500..<800))  // arrives while the service runs
            try await Task.sleep(for: .milliseconds(500))
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
        }
        let reference = temporaryPath("direct")
        let referenceLog = try LocalLog(configuration: .init(path: reference + "/events.sqlite"))
        try referenceLog.append(events(0..<800))
        let direct = try processor(reference, log: referenceLog)
        try direct.processAvailable()
        let served = try processor(directory, log: log)
        #expect(served.offset == 800)
        #expect(try served.metrics(limit: 100) == direct.metrics(limit: 100))
        for user in 0..<5 {
            #expect(try served.profile(user: "user_\(user)") == direct.profile(user: "user_\(user)"))
        }
    }
}
