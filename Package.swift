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
        .executable(name: "feedback", targets: ["FeedbackCLI"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
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
            dependencies: ["Pipeline", .product(name: "Logging", package: "swift-log")]
        ),
        // The Kafka transport of the collector.
        .target(
            name: "FeedbackKafka",
            dependencies: ["Feedback", "Kafka", .product(name: "Logging", package: "swift-log")]
        ),
        // Demo recommender: recall, rank, truncate nodes and simulated users.
        .target(name: "DemoRecommender", dependencies: ["Pipeline"]),
        .executableTarget(
            name: "FeedbackCLI",
            dependencies: [
                "Feedback", "FeedbackKafka", "DemoRecommender", "Pipeline",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            linkerSettings: depsRPath
        ),
        .testTarget(name: "PipelineTests", dependencies: ["Pipeline", "DemoRecommender"], linkerSettings: depsRPath),
        .testTarget(
            name: "FeedbackTests", dependencies: ["Feedback", "FeedbackKafka", "Pipeline"], linkerSettings: depsRPath),
        .testTarget(
            name: "KafkaIntegrationTests",
            dependencies: ["Feedback", "FeedbackKafka", "Kafka", "Pipeline", "DemoRecommender"],
            linkerSettings: depsRPath
        ),
    ],
    swiftLanguageModes: [.v6]
)
