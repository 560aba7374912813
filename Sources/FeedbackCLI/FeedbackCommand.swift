import ArgumentParser

@main
struct FeedbackCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "feedback",
        abstract: "Collect recommendation feedback (impressions, clicks, conversions) into Kafka without blocking.",
        subcommands: [
            DemoCommand.self, ProduceCommand.self, SpoolCommand.self, ProcessCommand.self, ProfileCommand.self,
            MetricsCommand.self, FailedCommand.self, VersionCommand.self,
        ])
}
