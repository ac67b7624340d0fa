// swift-tools-version:6.0
// Sightline: a video understanding daemon. One target per concern; see README.md's
// "where is what" table and ../shared/DESIGN.md for the architecture.
import PackageDescription

let package = Package(
    name: "Sightline",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "sightline", targets: ["sightline"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        // MARK: Daemon, Store, Server dependencies
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/groue/GRDB.swift", exact: "7.10.0"),
        .package(url: "https://github.com/LebJe/TOMLKit", exact: "0.6.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
    ],
    targets: [
        // MARK: - C shims (each imported by exactly one Swift target)
        .systemLibrary(
            name: "CFFmpeg",
            pkgConfig: "libavformat",
            providers: [.apt(["libavformat-dev", "libavcodec-dev", "libavdevice-dev",
                              "libswscale-dev", "libswresample-dev", "libavutil-dev"])]
        ),

        // MARK: - Libraries
        .target(name: "MediaIO", dependencies: ["CFFmpeg"]),

        // MARK: - Kernels (CPU kernel pool, issue 3)
        .target(name: "CKernels", path: "Sources/CKernels"),
        .target(name: "Kernels", dependencies: ["CKernels"]),
        .executableTarget(name: "KernelsBench", dependencies: ["Kernels"], path: "Benchmarks/KernelsBench"),
        .testTarget(name: "KernelsTests", dependencies: ["Kernels", "TestSupport"]),

        // MARK: - Model files (safetensors, CTranslate2, registry)
        .target(name: "ModelIO", dependencies: ["Kernels"]),
        .testTarget(name: "ModelIOTests", dependencies: ["ModelIO", "TestSupport"]),

        // MARK: - Speech (Whisper; issue 4)
        .systemLibrary(name: "CZlib", path: "Sources/CZlib", providers: [.apt(["zlib1g-dev"])]),
        .target(name: "Whisper", dependencies: ["Kernels", "ModelIO", "CZlib"], path: "Sources/Encoders/Whisper"),
        .testTarget(name: "WhisperTests", dependencies: ["Whisper", "Kernels", "ModelIO", "TestSupport"]),
        .executableTarget(name: "SpeechBench", dependencies: ["Whisper", "Transcription", "VAD", "MediaIO", "ModelIO", "Kernels"],
                          path: "Benchmarks/SpeechBench"),
        .executableTarget(name: "PauseBench", dependencies: ["Transcription", "Whisper", "VAD", "ModelIO", "Subtitles", "Kernels", "TestSupport"],
                          path: "Benchmarks/PauseBench"),

        // MARK: - Vision: the picture type and box helpers every vision encoder shares
        .target(name: "ImageOps", path: "Sources/Encoders/ImageOps"),
        .testTarget(name: "ImageOpsTests", dependencies: ["ImageOps"]),

        // MARK: - Subtitles and VAD (subs-vad)
        .target(name: "Subtitles"),
        .target(name: "VAD", dependencies: ["ModelIO", "Kernels"]),
        .executableTarget(name: "VADBench", dependencies: ["VAD"], path: "Benchmarks/VADBench"),

        // MARK: - Transcription (VAD gating, time restoration, Whisper adapter; lead)
        .target(name: "Transcription", dependencies: ["MediaIO", "VAD", "Subtitles", "Whisper"]),
        .testTarget(name: "TranscriptionTests", dependencies: ["Transcription", "VAD", "Subtitles", "Whisper", "TestSupport"]),

        // MARK: - Daemon, Store, Server
        .target(name: "Store", dependencies: [
            "MediaIO",
            .product(name: "GRDB", package: "GRDB.swift"),
        ]),
        .target(name: "Server", dependencies: [
            "Store", "Subtitles",
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "NIOHTTP1", package: "swift-nio"),
            .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            .product(name: "Logging", package: "swift-log"),
        ]),
        .target(name: "Daemon", dependencies: [
            "MediaIO", "Store", "Server", "Transcription", "Subtitles", "VAD", "Whisper", "ModelIO", "Kernels",
            .product(name: "TOMLKit", package: "TOMLKit"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            .product(name: "Logging", package: "swift-log"),
        ]),

        // MARK: - Executable (ArgumentParser commands only)
        .executableTarget(
            name: "sightline",
            dependencies: [
                "MediaIO",
                "Daemon", "Server", "Store", // MARK: daemon
                "Transcription", "Whisper", "ModelIO", "Subtitles", "Kernels", // MARK: speech
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),


        // MARK: - Benchmarks (driven by Benchmarks/run)
        .executableTarget(name: "IngestBench", dependencies: ["MediaIO"], path: "Benchmarks/IngestBench"),
        // MARK: Daemon benchmarks
        .executableTarget(name: "QueryBench", dependencies: ["Store"], path: "Benchmarks/QueryBench"),

        // MARK: - Tests
        .target(name: "TestSupport", dependencies: ["Transcription", "Subtitles"], path: "Sources/TestSupport"),
        .testTarget(name: "MediaIOTests", dependencies: ["MediaIO", "TestSupport", "sightline"]),

        // MARK: - Subtitles and VAD tests (subs-vad)
        .testTarget(name: "SubtitlesTests", dependencies: ["Subtitles", "TestSupport"]),
        .testTarget(name: "VADTests", dependencies: ["VAD", "ModelIO", "Kernels", "TestSupport"]),

        // MARK: Daemon, Store, Server tests
        .testTarget(name: "StoreTests", dependencies: ["Store", "TestSupport"]),
        .testTarget(name: "ServerTests", dependencies: ["Server", "Store", "TestSupport"]),
        .testTarget(name: "DaemonTests", dependencies: ["Daemon", "MediaIO", "Store", "Server", "Transcription", "VAD", "Subtitles", "TestSupport"]),
        .testTarget(name: "EndToEndTests", dependencies: ["Store", "Server", "TestSupport"]),
    ],
    swiftLanguageModes: [.v6]
)
