import ArgumentParser
import Foundation
import Logging
import Metrics
import Prometheus

/// Logging and metrics options shared by the commands that run the collector or the processor.
struct ObservabilityOptions: ParsableArguments {
    @Option(help: "Write the metrics in Prometheus text format to this file at exit.")
    var metricsFile: String?

    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel: String = "warning"

    var level: Logger.Level { Logger.Level(rawValue: logLevel) ?? .warning }

    func validate() throws {
        guard Logger.Level(rawValue: logLevel) != nil else {
            throw ValidationError("--log-level \(logLevel): use trace, debug, info, notice, warning, error or critical")
        }
    }

    /// The `feedback` logger at `--log-level`.
    var logger: Logger {
        var logger = Logger(label: "feedback")
        logger.logLevel = level
        return logger
    }

    /// Logging to stderr; metrics into a Prometheus registry when a metrics file is asked for.
    func bootstrap() -> PrometheusCollectorRegistry? {
        let level = self.level
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        guard metricsFile != nil else { return nil }
        let registry = PrometheusCollectorRegistry()
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
        return registry
    }

    func writeMetrics(_ registry: PrometheusCollectorRegistry?) throws {
        guard let registry, let metricsFile else { return }
        try Data(registry.emitToBuffer()).write(to: URL(fileURLWithPath: metricsFile))
    }
}
