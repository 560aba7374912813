import Feedback
import FeedbackLog
import Synchronization
import TestSupport
import Testing

/// A destination that can be switched down, made full, or made to refuse one payload for good — the fake
/// behind the spool in these unit tests (the real proof against a broker is KafkaIntegrationTests' SpoolTests).
final class SwitchableTransport: FallbackCapableTransport {
    struct State {
        var down = false
        var full = false
        var received: [String] = []
        var replayedReceived = 0
    }
    let state = Mutex(State())
    let tracker = Mutex<DeliveryTracker?>(nil)
    let fallback = Mutex<(any TransportFallback)?>(nil)
    let refusedForGood: String?
    /// Refused for good only when replayed (its delivery report says so), as an event over the broker's
    /// size limit would be once it reaches the broker.
    let refusedOnReplay: String?

    init(refusedForGood: String? = nil, refusedOnReplay: String? = nil) {
        self.refusedForGood = refusedForGood
        self.refusedOnReplay = refusedOnReplay
    }

    var name: String { "switchable" }
    var deliveryTimeout: Duration { .seconds(1) }
    var inFlight: Int { 0 }
    var received: [String] { state.withLock { $0.received } }
    func set(down: Bool? = nil, full: Bool? = nil) {
        state.withLock { state in
            if let down { state.down = down }
            if let full { state.full = full }
        }
    }

    func install(fallback: any TransportFallback) { self.fallback.withLock { $0 = fallback } }
    func isReachable(timeout: Duration) -> Bool { !state.withLock { $0.down } }
    func start(tracker: DeliveryTracker) { self.tracker.withLock { $0 = tracker } }

    func send(key: UnsafeRawBufferPointer?, payload: UnsafeRawBufferPointer, token: UInt) -> TransportSendResult {
        let text = String(decoding: payload, as: UTF8.self)
        if text == refusedForGood { return .rejected(reason: "too large for the destination") }
        let isReplay = token & TransportFallbackTokens.replayBit != 0
        let (down, full) = state.withLock { ($0.down, $0.full) }
        if full { return .busy }
        let fallback = fallback.withLock { $0 }!
        if down {
            // Accepted, then its delivery fails for a reason a retry can fix (as librdkafka's timeout does).
            if isReplay {
                fallback.replayed(token: token, failure: "_TRANSPORT", permanent: false)
            } else {
                fallback.destinationDown(reason: "_TRANSPORT")
                fallback.keep(key: key.map { Array($0) }, payload: Array(payload))
            }
            return .accepted
        }
        if isReplay && text == refusedOnReplay {
            fallback.replayed(token: token, failure: "_MSG_SIZE_TOO_LARGE", permanent: true)
            return .accepted
        }
        state.withLock {
            $0.received.append(text)
            if isReplay { $0.replayedReceived += 1 }
        }
        if isReplay {
            fallback.replayed(token: token, failure: nil, permanent: false)
        } else {
            fallback.destinationUp()
            tracker.withLock { $0 }?.delivered(token: token)
        }
        return .accepted
    }

    func flush(timeout: Duration) -> Bool { true }
    func close() {}
}

@Suite struct SpoolingTransportTests {
    func event(_ index: Int) -> FeedbackEvent {
        FeedbackEvent(type: .click, itemID: "item", userID: "user_\(index % 7)", eventID: "e\(index)", timestampMs: 1)
    }

    func eventIDs(_ transport: SwitchableTransport) -> [String] {
        transport.received.compactMap { json in
            json.split(separator: "\"").drop { $0 != "event_id" }.dropFirst(2).first.map(String.init)
        }
    }

    @Test func whatTheDestinationCannotTakeIsSpooledAndReplayedOnceItAnswers() async throws {
        let inner = SwitchableTransport()
        let spooling = try SpoolingTransport(
            wrapping: inner, spool: SpoolConfiguration(path: temporaryPath("s.sqlite")))
        let collector = try FeedbackCollector(transport: spooling)
        for index in 0..<100 { try collector.record(event(index)) }
        #expect(await collector.flush(timeout: .seconds(5)))
        inner.set(down: true)
        for index in 100..<300 { try collector.record(event(index)) }
        #expect(await collector.flush(timeout: .seconds(5)))
        #expect(spooling.destinationDown)
        inner.set(full: true)
        inner.set(down: false)
        for index in 300..<400 { try collector.record(event(index)) }
        #expect(await collector.flush(timeout: .seconds(5)))
        inner.set(full: false)
        #expect(await spooling.waitForSpoolDrained(timeout: .seconds(30)))
        let statistics = await collector.shutdown()
        #expect(statistics.delivered == 100 && statistics.spooled == 300 && statistics.replayed == 300, "\(statistics)")
        #expect(statistics.dropped == 0 && statistics.failed == 0 && statistics.pending == 0)
        #expect(Set(eventIDs(inner)) == Set((0..<400).map { "e\($0)" }) && eventIDs(inner).count == 400)
        #expect(!spooling.destinationDown)
    }

    @Test func durableModeGoesThroughTheSpoolAndReachesTheDestination() async throws {
        let inner = SwitchableTransport()
        let spooling = try SpoolingTransport(
            wrapping: inner, spool: SpoolConfiguration(path: temporaryPath("d.sqlite")))
        let collector = try FeedbackCollector(transport: spooling, configuration: .init(durability: .durable))
        for index in 0..<500 { try collector.record(event(index)) }
        #expect(await spooling.waitForSpoolDrained(timeout: .seconds(30)))
        let statistics = await collector.shutdown()
        #expect(statistics.spooled == 500 && statistics.replayed == 500 && statistics.delivered == 0, "\(statistics)")
        #expect(inner.state.withLock { $0.replayedReceived } == 500)
    }

    @Test func aPermanentRefusalIsCountedAndNothingElseIsHeldUp() async throws {
        let refused = String(decoding: event(3).jsonBytes(), as: UTF8.self)
        let inner = SwitchableTransport(refusedForGood: refused)
        let spooling = try SpoolingTransport(
            wrapping: inner, spool: SpoolConfiguration(path: temporaryPath("p.sqlite")))
        let collector = try FeedbackCollector(transport: spooling)
        for index in 0..<10 { try collector.record(event(index)) }
        let statistics = await collector.shutdown()
        #expect(statistics.delivered == 9 && statistics.droppedByReason[.rejected] == 1, "\(statistics)")
        #expect(!eventIDs(inner).contains("e3") && eventIDs(inner).count == 9)
    }

    /// A spooled event the destination refuses for good when replayed (over its size limit) is counted as
    /// dropped and logged, and the events behind it are replayed: it no longer blocks the spool.
    @Test func aSpooledEventRefusedForGoodOnReplayDoesNotBlockTheRest() async throws {
        let refused = String(decoding: event(13).jsonBytes(), as: UTF8.self)
        let inner = SwitchableTransport(refusedOnReplay: refused)
        let spooling = try SpoolingTransport(
            wrapping: inner, spool: SpoolConfiguration(path: temporaryPath("r.sqlite")))
        let collector = try FeedbackCollector(transport: spooling)
        inner.set(down: true)
        for index in 0..<50 { try collector.record(event(index)) }
        #expect(await collector.flush(timeout: .seconds(5)))
        inner.set(down: false)
        #expect(await spooling.waitForSpoolDrained(timeout: .seconds(30)))
        let statistics = await collector.shutdown()
        #expect(statistics.spooled == 50 && statistics.replayed == 49, "\(statistics)")
        #expect(statistics.replayRefused == 1 && statistics.dropped == 0 && statistics.pending == 0, "\(statistics)")
        #expect(Set(eventIDs(inner)) == Set((0..<50).filter { $0 != 13 }.map { "e\($0)" }))
    }
}
