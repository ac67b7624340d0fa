// The model-free encoders: motion (changed fraction of a luma thumbnail) and audio level
// (RMS in dBFS), on generated frames and tones with known answers.
import Foundation
@testable import MediaIO
@testable import Modalities
import SightlineCore
import XCTest

/// Windows of 1 kHz tone (loud) with one grey frame each, 2 s apart.
private func makeWindow(_ i: Int, frames: Int = 1, amplitude: Float = 0.5, grey: UInt8 = 100) -> MediaWindow {
    let audio = (0..<32_000).map { amplitude * sin(2 * .pi * 1000 * Float($0) / 16_000) }
    let frame = VideoFrame(ptsMs: Int64(i) * 2000, width: 64, height: 36, layout: .rgb8, isKeyframe: true,
                           rgb: [UInt8](repeating: grey, count: 64 * 36 * 3), planar: [])
    return MediaWindow(index: i, startMs: Int64(i) * 2000, endMs: Int64(i + 1) * 2000,
                       frames: Array(repeating: frame, count: frames), audio: audio)
}

final class BuiltinEncoderTests: XCTestCase {
    func testMotionFractionAndLabel() async throws {
        let m = MotionEncoder()
        let first = try await m.encode(makeWindow(0, grey: 50))
        XCTAssertEqual(first, [], "first frame has nothing to compare with")
        let still = try await m.encode(makeWindow(1, grey: 50))
        XCTAssertEqual(still.first?.value, 0)
        XCTAssertNil(still.first?.text)
        var w = makeWindow(2, grey: 50)
        // Brighten the left half: exactly half the thumbnail changes.
        for y in 0..<36 { for x in 0..<32 { for c in 0..<3 { w.frames[0].rgb[(y * 64 + x) * 3 + c] = 200 } } }
        let moved = try await m.encode(w)
        XCTAssertEqual(moved.first?.value ?? 0, 0.5, accuracy: 1e-9)
        XCTAssertEqual(moved.first?.text, "motion")
    }

    func testAudioLevelOfSilenceAndFullScaleSine() async throws {
        let a = AudioLevelEncoder()
        let silent = try await a.encode(makeWindow(0, amplitude: 0))
        XCTAssertEqual(silent.first?.value, AudioLevelEncoder.silenceDb)
        let full = try await a.encode(makeWindow(0, amplitude: 1))
        XCTAssertEqual(full.first?.value ?? 0, -3.0103, accuracy: 0.01)
    }
}

