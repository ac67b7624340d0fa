// swift-tools-version:6.0
// Sightline: a video understanding daemon. One target per concern; docs/ARCHITECTURE.md
// draws the layers and what each target may import (Scripts/check-layers checks it).
import PackageDescription

let package = Package(
    name: "Sightline",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "sightline", targets: ["sightline"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
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
        .systemLibrary(name: "CZlib", path: "Sources/CZlib", providers: [.apt(["zlib1g-dev"])]),
        .target(name: "CKernels", path: "Sources/CKernels"),

        // MARK: - Media, kernels, model files
        .target(name: "MediaIO", dependencies: ["CFFmpeg"]),
        .target(name: "Kernels", dependencies: ["CKernels"]),
        .target(name: "ModelIO", dependencies: ["Kernels"]),

        // MARK: - Models: pure compute, no store, no server
        .target(name: "Whisper", dependencies: ["Kernels", "ModelIO", "CZlib", "SpokenWords"], path: "Sources/Encoders/Whisper"),
        .target(name: "VAD", dependencies: ["ModelIO", "Kernels"]),
        .target(name: "ImageOps", dependencies: ["Kernels"], path: "Sources/Encoders/ImageOps"),
        .target(name: "PersonDetector", dependencies: ["Kernels", "ModelIO", "ImageOps"], path: "Sources/Encoders/PersonDetector"),
        .target(name: "OCR", dependencies: ["Kernels", "ModelIO", "ImageOps"], path: "Sources/Encoders/OCR"),
        .target(name: "TextEmbedder", dependencies: ["Kernels", "ModelIO"], path: "Sources/Encoders/TextEmbedder"),
        .target(name: "FaceDetector", dependencies: ["Kernels", "ModelIO", "ImageOps"], path: "Sources/Encoders/FaceDetector"),
        .target(name: "ImageLabels", dependencies: ["Kernels", "ModelIO", "ImageOps"], path: "Sources/Encoders/ImageLabels"),
        .target(name: "CLIP", dependencies: ["Kernels", "ModelIO", "ImageOps"], path: "Sources/Encoders/CLIP"),

        // MARK: - Speech to text and subtitles
        .target(name: "SpokenWords"),
        .target(name: "Subtitles", dependencies: ["SpokenWords"]),
        .target(name: "Transcription", dependencies: ["MediaIO", "VAD", "SpokenWords", "Subtitles", "Whisper"]),

        // MARK: - The evidence vocabulary and the pipeline's seams
        .target(name: "SightlineCore", dependencies: ["MediaIO", "SpokenWords"]),

        // MARK: - Modalities: adapters from windows to evidence, and the encoder registry
        .target(name: "Modalities", dependencies: ["SightlineCore", "MediaIO", "SpokenWords", "Transcription", "VAD", "Whisper", "ModelIO",
                                                  "ImageOps", "PersonDetector", "FaceDetector", "ImageLabels", "OCR", "TextEmbedder", "CLIP"]),

        // MARK: - Persistence, retrieval, API
        .target(name: "Store", dependencies: ["SightlineCore", "SpokenWords", .product(name: "GRDB", package: "GRDB.swift")]),
        .target(name: "Retrieval", dependencies: ["SightlineCore", "Store", "Kernels"]),
        .target(name: "Server", dependencies: [
            "SightlineCore", "Retrieval", "SpokenWords", "Subtitles",
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "NIOHTTP1", package: "swift-nio"),
            .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            .product(name: "Logging", package: "swift-log"),
        ]),

        // MARK: - The daemon: configuration, supervisor, pipelines, systemd (composition root)
        .target(name: "Daemon", dependencies: [
            "SightlineCore", "Modalities", "MediaIO", "Store", "Retrieval", "Server", "Kernels",
            .product(name: "TOMLKit", package: "TOMLKit"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            .product(name: "Logging", package: "swift-log"),
        ]),

        // MARK: - The executable (ArgumentParser commands only)
        .executableTarget(
            name: "sightline",
            dependencies: [
                "MediaIO", "Daemon", "Server", "Transcription", "Whisper", "ModelIO", "Subtitles", "Kernels", "Modalities",
                "SightlineCore", "ImageOps", "Store", "Retrieval",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),

        // MARK: - Benchmarks (driven by Benchmarks/run)
        .executableTarget(name: "IngestBench", dependencies: ["MediaIO"], path: "Benchmarks/IngestBench"),
        .executableTarget(name: "KernelsBench", dependencies: ["Kernels"], path: "Benchmarks/KernelsBench"),
        .executableTarget(name: "VADBench", dependencies: ["VAD"], path: "Benchmarks/VADBench"),
        .executableTarget(name: "SpeechBench", dependencies: ["Whisper", "Transcription", "VAD", "MediaIO", "ModelIO", "Kernels"],
                          path: "Benchmarks/SpeechBench"),
        .executableTarget(name: "PauseBench", dependencies: ["Transcription", "Whisper", "VAD", "ModelIO", "SpokenWords", "Subtitles", "Kernels", "TestSupport"],
                          path: "Benchmarks/PauseBench"),
        .executableTarget(name: "PackBench", dependencies: ["Transcription", "Whisper", "VAD", "SpokenWords", "Subtitles", "Kernels", "TestSupport"],
                          path: "Benchmarks/PackBench"),
        .executableTarget(name: "QueryBench", dependencies: ["MediaIO", "SightlineCore", "Store", "Retrieval", "TestSupport"], path: "Benchmarks/QueryBench"),
        .executableTarget(name: "FusionBench", dependencies: ["MediaIO", "SightlineCore", "Store", "Retrieval", "TextEmbedder", "TestSupport"], path: "Benchmarks/FusionBench"),
        // Not a benchmark: dumps the fused ranking's per-window dev-set features for
        // Scripts/fit-fusion (named like the benchmarks, which the layer check exempts).
        .executableTarget(name: "FusionFeaturesBench", dependencies: ["SightlineCore", "Store", "Retrieval", "TextEmbedder", "Daemon"],
                          path: "Benchmarks/FusionFeatures"),
        .executableTarget(name: "PersonBench", dependencies: ["PersonDetector", "ImageOps", "Kernels"], path: "Benchmarks/PersonBench"),
        .executableTarget(name: "OCRBench", dependencies: ["OCR", "ImageOps", "Kernels"], path: "Benchmarks/OCRBench"),
        .executableTarget(name: "TextBench", dependencies: ["TextEmbedder", "Kernels"], path: "Benchmarks/TextBench"),
        .executableTarget(name: "FacesBench", dependencies: ["FaceDetector", "ImageOps", "ModelIO", "Kernels"], path: "Benchmarks/FacesBench"),
        .executableTarget(name: "LabelsBench", dependencies: ["ImageLabels", "ImageOps", "ModelIO", "Kernels"], path: "Benchmarks/LabelsBench"),
        .executableTarget(name: "CLIPBench", dependencies: ["CLIP", "ImageOps", "Kernels"], path: "Benchmarks/CLIPBench"),

        // MARK: - Tests (one test target per library target; shared helpers in TestSupport)
        .target(name: "TestSupport", dependencies: ["Transcription", "SpokenWords", "Subtitles", "SightlineCore"], path: "Sources/TestSupport"),
        // MediaIOTests run the built `sightline probe`, so the executable is built first.
        .testTarget(name: "MediaIOTests", dependencies: ["MediaIO", "TestSupport", "sightline"]),
        .testTarget(name: "KernelsTests", dependencies: ["Kernels", "TestSupport"]),
        .testTarget(name: "ModelIOTests", dependencies: ["ModelIO", "TestSupport"]),
        .testTarget(name: "WhisperTests", dependencies: ["Whisper", "Kernels", "ModelIO", "TestSupport"]),
        .testTarget(name: "VADTests", dependencies: ["VAD", "ModelIO", "Kernels", "TestSupport"]),
        .testTarget(name: "ImageOpsTests", dependencies: ["ImageOps"]),
        .testTarget(name: "PersonDetectorTests", dependencies: ["PersonDetector", "ImageOps", "Kernels", "ModelIO", "MediaIO", "TestSupport"]),
        .testTarget(name: "OCRTests", dependencies: ["OCR", "ImageOps", "ModelIO", "Kernels", "TestSupport"]),
        .testTarget(name: "TextEmbedderTests", dependencies: ["TextEmbedder", "Kernels", "ModelIO", "TestSupport"]),
        .testTarget(name: "FaceDetectorTests", dependencies: ["FaceDetector", "ImageOps", "ModelIO", "Kernels", "TestSupport"]),
        .testTarget(name: "ImageLabelsTests", dependencies: ["ImageLabels", "ImageOps", "ModelIO", "Kernels", "TestSupport"]),
        .testTarget(name: "CLIPTests", dependencies: ["CLIP", "ImageOps", "ModelIO", "Kernels", "TestSupport"]),
        .testTarget(name: "SubtitlesTests", dependencies: ["Subtitles", "SpokenWords", "TestSupport"]),
        .testTarget(name: "TranscriptionTests", dependencies: ["Transcription", "VAD", "SpokenWords", "Subtitles", "Whisper", "TestSupport"]),
        .testTarget(name: "SightlineCoreTests", dependencies: ["SightlineCore"]),
        .testTarget(name: "ModalitiesTests", dependencies: ["Modalities", "SightlineCore", "MediaIO", "Transcription", "Store", "sightline",
                                                            "PersonDetector", "FaceDetector", "ImageLabels", "OCR", "ImageOps", "TextEmbedder",
                                                            "CLIP", "Retrieval", "TestSupport"]),
        .testTarget(name: "StoreTests", dependencies: ["Store", "SightlineCore", "SpokenWords", "Retrieval", "TestSupport"]),
        .testTarget(name: "RetrievalTests", dependencies: ["Retrieval", "Store", "SightlineCore", "TestSupport", "TextEmbedder"]),
        .testTarget(name: "ServerTests", dependencies: ["Server", "Retrieval", "Store", "SightlineCore"]),
        .testTarget(name: "DaemonTests", dependencies: ["Daemon", "Modalities", "SightlineCore", "MediaIO", "Store", "Retrieval",
                                                        "TestSupport"]),
        // The development set: clips indexed with FileIndex, annotated queries scored against a baseline.
        .testTarget(name: "DevSetTests", dependencies: ["Daemon", "Modalities", "Retrieval", "Store", "SightlineCore", "TestSupport"]),
        .testTarget(name: "EndToEndTests", dependencies: ["SightlineCore", "Store", "Server", "TestSupport"]),
        // Seeded, bounded fuzzing of media and configuration in-process and through the binary.
        .testTarget(name: "FuzzTests", dependencies: ["MediaIO", "Daemon", "Server", "TestSupport", "sightline"]),
    ],
    swiftLanguageModes: [.v6]
)
