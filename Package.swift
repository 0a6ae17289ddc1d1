// swift-tools-version:6.1
import PackageDescription

// Release builds of the numeric targets target Haswell (AVX2 + FMA), which
// every machine of this project has: without it SIMD fused multiply-adds
// become per-lane libm calls (see ../shared/SWIFT-NOTES.md).
let fast: [SwiftSetting] = [
    .unsafeFlags(["-Ounchecked", "-target-cpu", "haswell"], .when(configuration: .release)),
]

let package = Package(
    name: "Recur",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "recur", targets: ["recur"]),
        .library(name: "RecurCore", targets: ["RecurCore"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.0.0"),
    ],
    targets: [
        .systemLibrary(name: "CBLAS", pkgConfig: "openblas", providers: [.apt(["libopenblas-dev"])]),
        .systemLibrary(name: "CDNNL", providers: [.apt(["libdnnl-dev"])]),
        .systemLibrary(name: "CFFTW", pkgConfig: "fftw3f", providers: [.apt(["libfftw3-dev"])]),
        .systemLibrary(name: "CSndFile", pkgConfig: "sndfile", providers: [.apt(["libsndfile1-dev"])]),
        .systemLibrary(name: "CSoxr", pkgConfig: "soxr", providers: [.apt(["libsoxr-dev"])]),
        .systemLibrary(name: "CPNG", pkgConfig: "libpng16", providers: [.apt(["libpng-dev"])]),

        .target(name: "RecurCore", dependencies: ["CBLAS", "CDNNL"], swiftSettings: fast),
        .target(name: "RecurLayers", dependencies: ["RecurCore"], swiftSettings: fast),
        .target(name: "RecurFrontends",
                dependencies: ["RecurCore", "CFFTW", "CSndFile", "CSoxr", "CPNG"], swiftSettings: fast),
        .target(name: "RecurModels", dependencies: ["RecurLayers", "RecurFrontends"], swiftSettings: fast),
        .target(name: "RecurDecoding", dependencies: ["RecurModels"], swiftSettings: fast),
        // Training decodes its validation set (greedy) to report the task metric.
        .target(name: "RecurTraining", dependencies: ["RecurModels", "RecurDecoding", .product(name: "Yams", package: "Yams")],
                swiftSettings: fast),
        .target(name: "RecurPipelines",
                dependencies: ["RecurTraining", "RecurDecoding", .product(name: "Yams", package: "Yams")]),
        .executableTarget(name: "recur", dependencies: [
            "RecurCore", "RecurLayers", "RecurFrontends", "RecurModels", "RecurTraining",
            "RecurDecoding", "RecurPipelines",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ], swiftSettings: fast),

        .target(name: "RecurTestSupport", dependencies: ["RecurCore"], path: "Tests/RecurTestSupport"),
        .target(name: "RecurModelTestSupport", dependencies: ["RecurModels", "RecurTraining"], path: "Tests/RecurModelTestSupport"),
        .testTarget(name: "RecurCoreTests", dependencies: ["RecurCore", "RecurTestSupport"],
                    resources: [.copy("Fixtures")]),
        .testTarget(name: "RecurLayersTests", dependencies: ["RecurLayers", "RecurTestSupport"],
                    resources: [.copy("Fixtures")]),
        .testTarget(name: "RecurFrontendsTests", dependencies: ["RecurFrontends", "RecurTestSupport"],
                    resources: [.copy("Fixtures")]),
        .testTarget(name: "RecurModelsTests", dependencies: ["RecurModels", "RecurTestSupport"],
                    resources: [.copy("Fixtures")]),
        .testTarget(name: "RecurTrainingTests", dependencies: ["RecurTraining", "RecurTestSupport"],
                    resources: [.copy("Fixtures")]),
        .testTarget(name: "RecurDecodingTests", dependencies: ["RecurDecoding", "RecurTestSupport"]),
        .testTarget(name: "RecurPipelinesTests", dependencies: ["RecurPipelines", "RecurTestSupport", "RecurModelTestSupport", .product(name: "Yams", package: "Yams")]),
        .testTarget(name: "RecurCLITests", dependencies: ["recur", "RecurTestSupport", "RecurModelTestSupport"]),
    ]
)
