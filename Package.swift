// swift-tools-version:6.0
import PackageDescription

// librdkafka 2.16 lives in .deps/lib (scripts/install-deps.sh); leaf targets get an rpath to it so
// `swift run` and `swift test` pick it over Debian's 2.0.2 without LD_LIBRARY_PATH. Library targets stay
// free of unsafe flags so the package can be depended upon.
let depsRPath: [LinkerSetting] = [
    .unsafeFlags(["-Xlinker", "-rpath", "-Xlinker", "$ORIGIN/../../.deps/lib"])
]

let package = Package(
    name: "swift-rec-feedback",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "Pipeline", targets: ["Pipeline"]),
        .library(name: "Feedback", targets: ["Feedback"]),
        .library(name: "FeedbackKafka", targets: ["FeedbackKafka"]),
        .library(name: "FeedbackLog", targets: ["FeedbackLog"]),
        .library(name: "FeedbackProcessor", targets: ["FeedbackProcessor"]),
        .executable(name: "feedback", targets: ["FeedbackCLI"]),
        .executable(name: "feedback-hook-bench", targets: ["HookBench"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.5.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.0.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.6.0"),
        .package(url: "https://github.com/ordo-one/malloc-interposer", from: "1.6.0"),
    ],
    targets: [
        // The only place that sees librdkafka's C API.
        .systemLibrary(
            name: "CRdKafka",
            pkgConfig: "rdkafka",
            providers: [.apt(["librdkafka-dev"])]
        ),
        // Thin Swift wrapper over CRdKafka: a producer whose API has no C pointers.
        .target(
            name: "Kafka",
            dependencies: ["CRdKafka", .product(name: "Logging", package: "swift-log")]
        ),
        // reckit's pipeline: context, items, nodes, hooks.
        .target(name: "Pipeline"),
        // Feedback events, the collector (bounded, non-blocking) and the pipeline hook.
        .target(
            name: "Feedback",
            dependencies: [
                "Pipeline",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        // The only place that sees SQLite's C API.
        .systemLibrary(name: "CSQLite", pkgConfig: "sqlite3", providers: [.apt(["libsqlite3-dev"])]),
        // The durable local log: embedded default transport, outage spool, durable mode, reader API.
        .target(
            name: "FeedbackLog",
            dependencies: ["Feedback", "CSQLite", .product(name: "Logging", package: "swift-log")]
        ),
        // The Kafka transport of the collector, with its spool and replayer.
        .target(
            name: "FeedbackKafka",
            dependencies: [
                "Feedback", "FeedbackLog", "Kafka",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
            ]
        ),
        // hiredis's C headers, and a thin Swift connection over them (profile sink).
        .systemLibrary(name: "CHiredis", pkgConfig: "hiredis", providers: [.apt(["libhiredis-dev"])]),
        .target(name: "Redis", dependencies: ["CHiredis"]),
        // libdeflate's and ISA-L's C headers, and a thin Swift layer over them: gzip training-sample files
        // and deflated state segments.
        .systemLibrary(name: "CLibdeflate", pkgConfig: "libdeflate", providers: [.apt(["libdeflate-dev"])]),
        .systemLibrary(name: "CIsal", pkgConfig: "libisal", providers: [.apt(["libisal-dev"])]),
        .target(name: "Deflate", dependencies: ["CLibdeflate", "CIsal"]),
        .systemLibrary(name: "CPrefetch"),
        // The stream processor: user profiles, training samples, live metrics.
        .target(
            name: "FeedbackProcessor",
            dependencies: [
                "Feedback", "FeedbackLog", "Kafka", "Redis", "Deflate", "Pipeline", "CPrefetch",
                .product(name: "Logging", package: "swift-log"), .product(name: "Metrics", package: "swift-metrics"),
            ]
        ),
        // Benchmarks (feedback bench): a local broker, kcat as the peer, throughput/latency/outage/replay.
        .target(
            name: "FeedbackBench",
            dependencies: [
                "Feedback", "FeedbackKafka", "FeedbackLog", "FeedbackProcessor", "Pipeline",
                .product(name: "Metrics", package: "swift-metrics"),
            ]
        ),
        // The FeedbackHook cost benchmark, a separate binary so that its malloc counter (an interposer)
        // never sits in the production `feedback` binary.
        .executableTarget(
            name: "HookBench",
            dependencies: [
                "Feedback", "Pipeline", "FeedbackProcessor", "FeedbackBench", "FeedbackLog",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "MallocInterposerSwift", package: "malloc-interposer"),
            ]
        ),
        // Demo recommender: recall, rank, truncate nodes and simulated users.
        .target(name: "DemoRecommender", dependencies: ["Pipeline"]),
        .executableTarget(
            name: "FeedbackCLI",
            dependencies: [
                "Feedback", "FeedbackKafka", "FeedbackLog", "FeedbackBench", "FeedbackProcessor", "DemoRecommender",
                "Pipeline", .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
            ],
            linkerSettings: depsRPath
        ),
        .testTarget(name: "PipelineTests", dependencies: ["Pipeline", "DemoRecommender"], linkerSettings: depsRPath),
        .testTarget(
            name: "FeedbackTests",
            dependencies: [
                "Deflate", "Feedback", "FeedbackBench", "FeedbackKafka", "FeedbackLog", "FeedbackProcessor", "Pipeline",
            ],
            linkerSettings: depsRPath),
        .testTarget(
            name: "KafkaIntegrationTests",
            dependencies: [
                "Feedback", "FeedbackKafka", "FeedbackLog", "FeedbackBench", "FeedbackProcessor", "Kafka", "Pipeline",
                "DemoRecommender",
            ],
            linkerSettings: depsRPath
        ),
    ],
    swiftLanguageModes: [.v6]
)
