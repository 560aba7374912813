import DemoRecommender
import Feedback
import Pipeline

/// One run of the demo: every simulated request goes through the pipeline with the feedback hook, then the
/// simulated user's clicks and conversions are recorded with the request's id.
struct DemoRun {
    struct Summary {
        var requests = 0
        var impressions = 0
        var clicks = 0
        var conversions = 0
        var revenue = 0.0
    }

    let catalog: DemoCatalog
    let traffic: DemoTraffic
    let pageSize: Int

    func run(collector: FeedbackCollector) async throws -> Summary {
        var summary = Summary()
        let hook = FeedbackHook(collector: collector)
        for request in traffic.requests() {
            let pipeline = catalog.pipeline(forUser: request.userIndex, pageSize: pageSize, hooks: [hook])
            let items = try await pipeline.run(request.context)
            summary.requests += 1
            summary.impressions += items.count
            for (item, action) in traffic.actions(for: request, shown: items) {
                switch action {
                case .click(let position):
                    try? collector.recordClick(itemID: item.id, position: position, context: request.context)
                    summary.clicks += 1
                case .conversion(let position, let amount, let orderID):
                    try? collector.recordConversion(
                        itemID: item.id, context: request.context, position: position,
                        extras: ["amount": .double(amount), "order_id": .string(orderID)])
                    summary.conversions += 1
                    summary.revenue += amount
                }
            }
        }
        return summary
    }
}
