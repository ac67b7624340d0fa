// A new modality is one adapter and one registry entry: this test defines a tiny encoder
// (brightness of each frame at a requested size), adds it to the standard registry, and
// checks that stream files accept it, `config check` lists it, the daemon builds it for the
// streams that turn it on, and the pipeline hands it frames at the size it asked for.
import Foundation
@testable import MediaIO
import Modalities
import SightlineCore
import XCTest
@testable import Daemon

/// Mean luma of each frame, on 16x9 frames: what a new vision adapter looks like.
struct BrightnessEncoder: WindowEncoder {
    let name = "brightness"
    let input = EncoderInput(video: FrameRequest(size: FrameSize(width: 16, height: 9), layout: .rgb8, maxFps: 1))
    func encode(_ window: MediaWindow) async throws -> [Evidence] {
        window.frames.map { f in
            let mean = f.rgb.reduce(0) { $0 + Double($1) } / Double(max(f.rgb.count, 1))
            return Evidence(modality: "brightness", startMs: f.ptsMs, endMs: f.ptsMs + 1, text: "\(f.width)x\(f.height)", value: mean)
        }
    }
}

extension EncoderDescriptor {
    static let brightness = EncoderDescriptor(
        name: "brightness", summary: "mean brightness of each frame (test encoder)",
        input: EncoderInput(video: FrameRequest(size: FrameSize(width: 16, height: 9), layout: .rgb8, maxFps: 1)),
        enabledByDefault: false, prepare: { _ in StatelessEncoder { BrightnessEncoder() } })
}

final class EncoderRegistryTests: XCTestCase {
    let registry = EncoderRegistry.standard.adding([.brightness])

    func testStreamFilesAcceptTheNewModalityAndConfigCheckListsIt() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("registry-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        try "id = \"cam\"\nsource = \"rtsp://cam\"\n[modalities]\nbrightness = true\nspeech = false\n"
            .write(to: dir.appendingPathComponent("cam.toml"), atomically: true, encoding: .utf8)
        var daemon = DaemonConfig(registry: registry)
        daemon.paths.streamsDir = dir.path
        let streams = try Configuration.loadStreams(directory: dir.path, registry: registry)
        XCTAssertEqual(streams.first?.encoders, ["audio_level", "motion", "people", "faces", "labels", "ocr", "brightness"])
        let report = Configuration(daemon: daemon, streams: streams).report(printValues: true, registry: registry)
        XCTAssertTrue(report.contains("cam: enabled, rtsp://cam; modalities: audio_level, motion, people, faces, labels, ocr, brightness"), report)
        XCTAssertTrue(report.contains("  brightness: mean brightness of each frame (test encoder)"), report)
        XCTAssertTrue(report.contains("\nbrightness = true\n"), report)

        // Without the entry the same file is an error that lists the known modalities.
        XCTAssertThrowsError(try Configuration.loadStreams(directory: dir.path)) { error in
            let text = "\(error)"
            XCTAssertTrue(text.contains("unknown key 'modalities.brightness'") && text.contains("audio_level, clip, faces, labels, motion, ocr, people, speech"), text)
        }
    }

    func testDaemonBuildsItAndThePipelineScalesFramesOnceForIt() async throws {
        var stream = StreamConfig(id: "cam", source: "rtsp://cam", registry: registry)
        stream.encoders = ["brightness", "motion"]
        let encoders = try RegistryEncoders(registry: registry, setup: DaemonConfig(registry: registry).encoderSetup)
            .makeEncoders(for: stream)
        XCTAssertEqual(encoders.map(\.name), ["motion", "brightness"], "registry order, only what the stream turns on")
        XCTAssertTrue(stream.mediaOptions(decodeThreads: 1, registry: registry).decodeVideo)
        XCTAssertFalse(stream.mediaOptions(decodeThreads: 1, registry: registry).decodeAudio)

        // Four 64x36 frames 500 ms apart, a uniform grey of 200: the encoder asked for 16x9 at 1 fps.
        let grey = [UInt8](repeating: 200, count: 64 * 36 * 3)
        let frames = (0..<4).map { VideoFrame(ptsMs: Int64($0) * 500, width: 64, height: 36, layout: .rgb8, isKeyframe: true,
                                               rgb: grey, planar: []) }
        let window = MediaWindow(index: 0, startMs: 0, endMs: 2000, frames: frames, audio: [Float](repeating: 0.1, count: 32_000))
        let prepared = WindowInputs().prepare(window, for: encoders.map(\.input))
        let mine = try XCTUnwrap(prepared[encoders[1].input])
        XCTAssertEqual(mine.frames.map(\.ptsMs), [0, 1000], "thinned to 1 fps")
        XCTAssertEqual(mine.frames.map(\.width), [16, 16])
        XCTAssertTrue(mine.audio.isEmpty, "it did not ask for audio")
        XCTAssertEqual(prepared[encoders[0].input]?.frames.count, 4, "motion takes every sampled frame as is")
        let evidence = try await encoders[1].encode(mine)
        XCTAssertEqual(evidence.map(\.text), ["16x9", "16x9"])
        XCTAssertEqual(evidence.first?.value ?? 0, 200, accuracy: 1.5, "a uniform picture keeps its brightness when scaled")
    }
}
