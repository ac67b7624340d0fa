// The optional `clip` modality: off unless `[models] clip` names a CLIP directory; then each
// sampled frame of a real clip becomes one `image` evidence whose "clip" embedding is the
// model's own embedding of that frame (the tiny random checkpoint of Tests/Fixtures/clip).
import CLIP
import Foundation
@testable import MediaIO
@testable import Modalities
import SightlineCore
import TestSupport
import XCTest

final class CLIPModalityTests: XCTestCase {
    static let tiny = Fixtures.path("clip/tiny")

    func testOffByDefaultAndWithModelNone() throws {
        XCTAssertFalse(EncoderDescriptor.clip.enabledByDefault)
        let defaults = EncoderSetup.defaults(modelsDirectory: "/nonexistent/models")
        XCTAssertEqual(defaults.modelName("clip"), "none")
        let prepared = try EncoderDescriptor.clip.prepare(defaults)
        XCTAssertNil(try prepared.makeEncoder(streamId: "x"))
        XCTAssertEqual(prepared.modelsLoaded, [])
    }

    func testEveryFrameGetsTheModelsEmbedding() async throws {
        var setup = EncoderSetup.defaults(modelsDirectory: "/nonexistent/models")
        setup.models["clip"] = .name(Self.tiny)
        let prepared = try EncoderDescriptor.clip.prepare(setup)
        XCTAssertEqual(prepared.modelsLoaded, [Self.tiny])
        let encoder = try XCTUnwrap(try prepared.makeEncoder(streamId: "cam"))
        XCTAssertEqual(encoder.input.video?.maxFps, EncoderDescriptor.clipFps)

        var o = MediaOptions()
        o.sampling = .fps(1)
        o.decodeAudio = false
        let source = try MediaSource(input: Fixtures.path("media/carphone.mp4"), options: o)
        let window = try XCTUnwrap(try source.nextWindow())
        XCTAssertFalse(window.frames.isEmpty)
        let evidence = try await encoder.encode(window)
        XCTAssertEqual(evidence.count, window.frames.count)
        let model = try CLIPModel(directory: URL(fileURLWithPath: Self.tiny))
        for (e, frame) in zip(evidence, window.frames) {
            XCTAssertEqual(e.modality, .image)
            XCTAssertEqual(e.startMs, frame.ptsMs)
            XCTAssertEqual(e.embedding?.model, "clip")
            let expected = try model.embed(image: try FrameEncoder.picture(frame))
            XCTAssertEqual(e.embedding?.vector.count, 16)
            XCTAssertEqual(e.embedding?.vector ?? [], expected)
        }
    }

    func testABrokenDirectorySaysWhatIsWrong() throws {
        var setup = EncoderSetup.defaults(modelsDirectory: "/nonexistent/models")
        setup.models["clip"] = .name("/nonexistent/clip-vit-base-patch32")
        XCTAssertThrowsError(try EncoderDescriptor.clip.prepare(setup)) { error in
            let text = "\(error)"
            XCTAssertTrue(text.contains("cannot load the clip model '/nonexistent/clip-vit-base-patch32'"), text)
            XCTAssertTrue(text.contains("does not exist"), text)
        }
    }
}
