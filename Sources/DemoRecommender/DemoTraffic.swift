import Pipeline

/// Simulated users of the demo: each request shows a page; the user clicks items with a probability that
/// falls with position and rises with the item's quality, and sometimes buys what they clicked.
///
/// ```swift
/// let traffic = DemoTraffic(users: 20, requestsPerUser: 5, seed: 7)
/// for request in traffic.requests() { ... }
/// ```
public struct DemoTraffic: Sendable {
    /// One simulated request.
    public struct Request: Sendable {
        public var userIndex: Int
        public var context: RecommendContext
    }

    /// What the user did with one shown item.
    public enum Action: Sendable, Equatable {
        case click(position: Int)
        case conversion(position: Int, amount: Double, orderID: String)
    }

    public let users: Int
    public let requestsPerUser: Int
    public let seed: UInt64

    public init(users: Int = 20, requestsPerUser: Int = 5, seed: UInt64 = 7) {
        self.users = users
        self.requestsPerUser = requestsPerUser
        self.seed = seed
    }

    /// The requests in a fixed order; every fifth user is anonymous (device id only).
    public func requests() -> [Request] {
        var requests: [Request] = []
        for round in 0..<requestsPerUser {
            for user in 0..<users {
                let anonymous = user % 5 == 4
                let context = RecommendContext(
                    requestID: "req_\(seed)_\(round)_\(user)",
                    userID: anonymous ? "" : "user_\(user)",
                    deviceID: "device_\(user)",
                    scene: round % 2 == 0 ? "feed" : "detail")
                requests.append(Request(userIndex: user, context: context))
            }
        }
        return requests
    }

    /// The user's actions on the items shown in `request`, deterministic for a given seed and request.
    public func actions(for request: Request, shown items: [Item]) -> [(item: Item, action: Action)] {
        var random = DemoRandom(seed: seed ^ UInt64(truncatingIfNeeded: request.context.requestID.hashValueStable))
        var actions: [(Item, Action)] = []
        for (position, item) in items.enumerated() {
            let quality = item.features["quality"] ?? 0.5
            let clickProbability = 0.3 * quality / Double(position + 1).squareRoot()
            guard random.unit() < clickProbability else { continue }
            actions.append((item, .click(position: position)))
            if random.unit() < 0.25 {
                let amount = (random.unit() * 200).rounded() / 2 + 0.99
                let orderID = "order_\(request.context.requestID)_\(position)"
                actions.append((item, .conversion(position: position, amount: amount, orderID: orderID)))
            }
        }
        return actions
    }
}

extension String {
    /// FNV-1a: a hash that is the same in every process (Swift's `hashValue` is seeded per process).
    var hashValueStable: UInt64 {
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325
        for byte in utf8 {
            hash ^= UInt64(byte)
            hash &*= 0x100_0000_01B3
        }
        return hash
    }
}
