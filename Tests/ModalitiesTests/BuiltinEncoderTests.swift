// The model-free encoders: motion (changed fraction of a luma thumbnail) and audio level
// (RMS in dBFS), on generated frames and tones with known answers.
import Foundation
@testable import MediaIO
@testable import Modalities
import ImageOps
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
        // Where: one box, the left half, wholly changed, for the frame's span.
        XCTAssertEqual(moved.count, 2)
        XCTAssertEqual(moved[1].region, Region(x0: 0, y0: 0, x1: 0.5, y1: 1))
        XCTAssertEqual(moved[1].value, 1)
        XCTAssertNil(moved[1].text, "boxes are not searchable words; the window's summary is")
        XCTAssertEqual([moved[1].startMs, moved[1].endMs], [4000, 6000])
    }

    func testAChangeThatStaysBecomesBackgroundAndAMovingSquareIsBoxed() async throws {
        let m = MotionEncoder()
        func frame(_ t: Int64, square: (x: Int, y: Int)?, grey: UInt8) -> VideoFrame {
            var rgb = [UInt8](repeating: grey, count: 64 * 36 * 3)
            if let sq = square {
                for y in sq.y..<(sq.y + 8) { for x in sq.x..<(sq.x + 8) { for c in 0..<3 { rgb[(y * 64 + x) * 3 + c] = 250 } } }
            }
            return VideoFrame(ptsMs: t, width: 64, height: 36, layout: .rgb8, rgb: rgb)
        }
        func window(_ i: Int64, _ f: VideoFrame) -> MediaWindow {
            MediaWindow(index: Int(i), startMs: i * 1000, endMs: (i + 1) * 1000, frames: [f], audio: [])
        }
        _ = try await m.encode(window(0, frame(0, square: nil, grey: 40)))
        // The lights go up and stay up: motion at first, background after about a minute
        // (30 s time constant: a 160-level step falls under the 24-level threshold after ~57 s).
        var scores: [Double] = []
        for t in 1...120 { scores.append(try await m.encode(window(Int64(t), frame(Int64(t) * 1000, square: nil, grey: 200))).first?.value ?? -1) }
        XCTAssertEqual(scores[0], 1)
        XCTAssertEqual(scores[40], 1, "still foreground after 41 s")
        XCTAssertEqual(scores[70], 0, "background after 71 s")
        // A square moving over the settled scene is boxed where it is.
        let moving = try await m.encode(window(121, frame(121_000, square: (x: 40, y: 12), grey: 200)))
        XCTAssertEqual(moving.first?.value ?? 0, 64.0 / (64 * 36), accuracy: 1e-9)
        XCTAssertEqual(moving.dropFirst().map(\.region), [Region(x0: 40.0 / 64, y0: 12.0 / 36, x1: 48.0 / 64, y1: 20.0 / 36)])
    }

    func testAudioLevelOfSilenceAndFullScaleSine() async throws {
        let a = AudioLevelEncoder()
        let silent = try await a.encode(makeWindow(0, amplitude: 0))
        XCTAssertEqual(silent.first?.value, AudioLevelEncoder.silenceDb)
        let full = try await a.encode(makeWindow(0, amplitude: 1))
        XCTAssertEqual(full.first?.value ?? 0, -3.0103, accuracy: 0.01)
    }

    func testMotionGateAdmitsWhatMovesAndAKeepAliveAndCountsTheRest() async throws {
        /// Counts the frames it is given.
        final class Counting: FrameAnalyser, @unchecked Sendable {
            var times: [Int64] = []
            func analyse(_ image: RGBImage, span: FrameSpan) throws -> [Evidence] {
                times.append(span.startMs)
                return [Evidence(modality: "seen", startMs: span.startMs, endMs: span.endMs)]
            }
        }
        let counting = Counting()
        let gated = FrameEncoder(name: "seen", input: .frames, analyser: counting).gated(by: MotionGate(keepAliveMs: 10_000))
        func frame(_ t: Int64, grey: UInt8) -> VideoFrame {
            VideoFrame(ptsMs: t, width: 64, height: 36, layout: .rgb8, rgb: [UInt8](repeating: grey, count: 64 * 36 * 3))
        }
        // 1 fps for 30 s of a still scene, with a change at 15 s.
        var spans: [(Int64, Int64)] = []
        for t in stride(from: Int64(0), to: 30_000, by: 2000) {
            let w = MediaWindow(index: Int(t / 2000), startMs: t, endMs: t + 2000,
                                frames: [frame(t, grey: t >= 15_000 ? 200 : 50), frame(t + 1000, grey: t + 1000 >= 15_000 ? 200 : 50)], audio: [])
            spans += try await gated.encode(w).map { ($0.startMs, $0.endMs) }
        }
        // The first frame, the keep-alive at 10 s, the change at 15 s and every frame after it
        // while the new scene still differs from the background (it does for ~1 min), not the still ones.
        XCTAssertEqual(counting.times, [0, 10_000] + Array(stride(from: Int64(15_000), to: 30_000, by: 1000)))
        XCTAssertEqual(gated.framesSkipped, 30 - counting.times.count)
        // An analysed frame's evidence holds until the next analysed frame or its window's end.
        XCTAssertEqual(spans.first.map { [$0.0, $0.1] }, [0, 2000])
    }
}
