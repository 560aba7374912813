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
        .library(name: "FeedbackWire", targets: ["FeedbackWire"]),
        .library(name: "FeedbackProcessor", targets: ["FeedbackProcessor"]),
        .library(name: "FeedbackProcessorRedis", targets: ["FeedbackProcessorRedis"]),
        .library(name: "FeedbackProcessorClickHouse", targets: ["FeedbackProcessorClickHouse"]),
        .executable(name: "feedback", targets: ["FeedbackCLI"]),
        .executable(name: "feedback-hook-bench", targets: ["HookBench"]),
        .executable(name: "feedback-bench", targets: ["FeedbackBenchCLI"]),
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
        // The CPU's prefetch hint (one inline C function).
        .systemLibrary(name: "CPrefetch"),
        // Speed tricks in one small place: word-at-a-time byte tests, a slab, open-addressing indexes, time
        // buckets, seen-id tables, prefetching. Unsafe pointers live here (and in FeedbackWire), nowhere above.
        .target(name: "FastCollections", dependencies: ["CPrefetch"]),
        // Feedback events, the collector (bounded, non-blocking) and the pipeline hook.
        .target(
            name: "Feedback",
            dependencies: [
                "Pipeline", "FastCollections",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        // The event's bytes: the fast JSON reader of feedback events (public API: `EventReader`) and the
        // compact binary codec of the processor's stored state.
        .target(name: "FeedbackWire", dependencies: ["Feedback", "FastCollections"]),
        // SQLite's C headers, and the one Swift connection over them (local log, processor store).
        .systemLibrary(name: "CSQLite", pkgConfig: "sqlite3", providers: [.apt(["libsqlite3-dev"])]),
        .target(name: "SQLiteStore", dependencies: ["CSQLite"]),
        // The durable local log: embedded default transport, the spool in front of any transport, durable mode, reader API.
        .target(
            name: "FeedbackLog",
            dependencies: ["Feedback", "SQLiteStore", .product(name: "Logging", package: "swift-log")]
        ),
        // The Kafka transport of the collector (its spool is FeedbackLog's SpoolingTransport).
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
        // The stream processor: user profiles, training samples, live metrics (a folder per stage).
        .target(
            name: "FeedbackProcessor",
            dependencies: [
                "Feedback", "FeedbackWire", "FastCollections", "SQLiteStore", "FeedbackLog", "Kafka", "Deflate",
                .product(name: "Logging", package: "swift-log"), .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        // The processor's network sinks, apart so that the core links no network client.
        .target(name: "FeedbackProcessorRedis", dependencies: ["FeedbackProcessor", "Redis"]),
        .target(name: "FeedbackProcessorClickHouse", dependencies: ["FeedbackProcessor"]),
        // The deterministic seed-format events that `feedback produce` and the benchmarks send.
        .target(name: "SyntheticFeedback", dependencies: ["Feedback"]),
        // Benchmarks (feedback-bench): a local broker, kcat as the peer, throughput/latency/outage/replay.
        .target(
            name: "FeedbackBench",
            dependencies: [
                "Feedback", "FeedbackKafka", "FeedbackLog", "FeedbackProcessor", "Kafka", "Pipeline",
                "SyntheticFeedback", .product(name: "Metrics", package: "swift-metrics"),
            ]
        ),
        // The FeedbackHook cost benchmark, a separate binary so that its malloc counter (an interposer)
        // never sits in the production `feedback` binary.
        .executableTarget(
            name: "HookBench",
            dependencies: [
                "Feedback", "Pipeline", "FeedbackProcessor", "SyntheticFeedback", "FeedbackLog",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "MallocInterposerSwift", package: "malloc-interposer"),
            ]
        ),
        // The `feedback-bench` command: runs FeedbackBench, with the `feedback` and `feedback-hook-bench`
        // binaries beside it as children.
        .executableTarget(
            name: "FeedbackBenchCLI",
            dependencies: [
                "FeedbackBench", .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Metrics", package: "swift-metrics"),
            ],
            linkerSettings: depsRPath
        ),
        // libFuzzer target of the event reader: built only by scripts/fuzz.sh (with -sanitize=fuzzer), which CI runs.
        .executableTarget(name: "FeedbackFuzz", dependencies: ["FeedbackWire", "Feedback"]),
        // Demo recommender: recall, rank, truncate nodes and simulated users.
        .target(name: "DemoRecommender", dependencies: ["Pipeline"]),
        .executableTarget(
            name: "FeedbackCLI",
            dependencies: [
                "Feedback", "FeedbackKafka", "FeedbackLog", "Kafka", "FeedbackWire", "FeedbackProcessor",
                "FeedbackProcessorRedis",
                "FeedbackProcessorClickHouse", "DemoRecommender", "Pipeline", "SyntheticFeedback",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
            ],
            linkerSettings: depsRPath
        ),
        // Helpers every test target shares (temporary paths).
        .target(name: "TestSupport", path: "Tests/TestSupport"),
        .testTarget(name: "PipelineTests", dependencies: ["Pipeline", "DemoRecommender"], linkerSettings: depsRPath),
        .testTarget(
            name: "FeedbackTests",
            dependencies: ["Feedback", "FeedbackBench", "FeedbackKafka", "Pipeline", "TestSupport"],
            linkerSettings: depsRPath),
        .testTarget(name: "FeedbackLogTests", dependencies: ["Feedback", "FeedbackLog", "Pipeline", "TestSupport"]),
        .testTarget(name: "FastCollectionsTests", dependencies: ["FastCollections", "Feedback"]),
        .testTarget(name: "DeflateTests", dependencies: ["Deflate"]),
        .testTarget(name: "SQLiteStoreTests", dependencies: ["SQLiteStore", "TestSupport"]),
        .testTarget(
            name: "FeedbackWireTests", dependencies: ["FeedbackWire", "Feedback", "FastCollections", "Pipeline"]),
        .testTarget(
            name: "FeedbackProcessorTests",
            dependencies: [
                "Feedback", "FeedbackWire", "FastCollections", "SQLiteStore", "FeedbackLog", "FeedbackProcessor",
                "Deflate", "TestSupport", .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            linkerSettings: depsRPath),
        .testTarget(
            name: "KafkaIntegrationTests",
            dependencies: [
                "Feedback", "FeedbackKafka", "FeedbackLog", "FeedbackBench", "FeedbackProcessor",
                "FeedbackProcessorRedis", "FeedbackProcessorClickHouse", "Kafka", "Pipeline", "DemoRecommender",
                "SQLiteStore", "TestSupport",
            ],
            linkerSettings: depsRPath
        ),
    ],
    swiftLanguageModes: [.v6]
)
