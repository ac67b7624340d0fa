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

        // MARK: - Subtitles and VAD (subs-vad)
        .target(name: "Subtitles"),
        // ModelIO (safetensors reader) is also written on `speech`; reconcile on merge.
        .target(name: "ModelIO"),
        .target(name: "VAD", dependencies: ["ModelIO", "Kernels"]),
        .executableTarget(name: "VADBench", dependencies: ["VAD"], path: "Benchmarks/VADBench"),

        // MARK: - Transcription (VAD gating, time restoration; lead)
        .target(name: "Transcription", dependencies: ["MediaIO", "VAD", "Subtitles"]),
        .testTarget(name: "TranscriptionTests", dependencies: ["Transcription", "VAD", "Subtitles", "TestSupport"]),

        // MARK: - Executable (ArgumentParser commands only)
        .executableTarget(
            name: "sightline",
            dependencies: [
                "MediaIO",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),


        // MARK: - Benchmarks (driven by Benchmarks/run)
        .executableTarget(name: "IngestBench", dependencies: ["MediaIO"], path: "Benchmarks/IngestBench"),

        // MARK: - Tests
        .target(name: "TestSupport", dependencies: ["Transcription", "Subtitles"], path: "Sources/TestSupport"),
        .testTarget(name: "MediaIOTests", dependencies: ["MediaIO", "TestSupport", "sightline"]),

        // MARK: - Subtitles and VAD tests (subs-vad)
        .testTarget(name: "SubtitlesTests", dependencies: ["Subtitles", "TestSupport"]),
        .testTarget(name: "ModelIOTests", dependencies: ["ModelIO", "TestSupport"]),
        .testTarget(name: "VADTests", dependencies: ["VAD", "ModelIO", "Kernels", "TestSupport"]),
    ],
    swiftLanguageModes: [.v6]
)
