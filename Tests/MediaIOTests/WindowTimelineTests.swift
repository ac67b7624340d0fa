// Frame times, audio sample counts and window tiling on real and generated fixtures.
import XCTest
import TestSupport
@testable import MediaIO

final class WindowTimelineTests: XCTestCase {
    func decodeAll(_ name: String, _ configure: (inout MediaOptions) -> Void = { _ in }) throws -> (MediaSource, [MediaWindow]) {
        var options = MediaOptions()
        configure(&options)
        let source = try MediaSource(input: Fixtures.path("media/\(name)"), options: options)
        var windows: [MediaWindow] = []
        while let w = try source.nextWindow() { windows.append(w) }
        return (source, windows)
    }

    /// Windows start at 0, follow each other with no gap or overlap, and are `windowMs` long
    /// except possibly the last.
    func assertTiles(_ windows: [MediaWindow], windowMs: Int64 = 2000, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertFalse(windows.isEmpty, file: file, line: line)
        XCTAssertEqual(windows.first?.startMs, 0, file: file, line: line)
        for (i, w) in windows.enumerated() {
            XCTAssertEqual(w.index, i, file: file, line: line)
            XCTAssertLessThan(w.startMs, w.endMs, file: file, line: line)
            if i > 0 { XCTAssertEqual(w.startMs, windows[i - 1].endMs, "gap or overlap before window \(i)", file: file, line: line) }
            if i < windows.count - 1 { XCTAssertEqual(w.endMs - w.startMs, windowMs, file: file, line: line) }
            for f in w.frames {
                XCTAssertTrue(f.ptsMs >= w.startMs && f.ptsMs < w.endMs, "frame at \(f.ptsMs) outside [\(w.startMs), \(w.endMs))", file: file, line: line)
            }
        }
    }

    func testOneFPSFrameTimesOnConstantFrameRateClips() throws {
        // (fixture, frame duration in ms, expected sampled frames)
        for (name, frameMs, expectedFrames) in [("carphone.mp4", 1000.0 / 30, 4), ("car-detection.mp4", 80.0, 31), ("bikes.mp4", 40.0, 10)] {
            let (_, windows) = try decodeAll(name)
            assertTiles(windows)
            let times = windows.flatMap { $0.frames.map(\.ptsMs) }
            XCTAssertEqual(times.count, expectedFrames, name)
            for (k, t) in times.enumerated() {
                let tick = Double(k) * 1000
                XCTAssertGreaterThanOrEqual(Double(t), tick - 1, "\(name) frame \(k)")
                XCTAssertLessThan(Double(t), tick + frameMs, "\(name) frame \(k) at \(t) ms is more than one frame from \(tick)")
            }
        }
    }

    func testAudioSampleCountMatchesDuration() throws {
        for name in ["car-detection.mp4", "grid-speech.mpg", "audio-only.m4a"] {
            let (source, windows) = try decodeAll(name)
            assertTiles(windows)
            let total = windows.reduce(0) { $0 + $1.audio.count }
            let expected = Int(source.info.durationMs!) * AudioFormat.samplesPerMs
            XCTAssertLessThanOrEqual(abs(total - expected), 2000 * AudioFormat.samplesPerMs, "\(name): \(total) samples vs \(expected)")
            for w in windows {
                XCTAssertEqual(w.audio.count, Int(w.endMs - w.startMs) * AudioFormat.samplesPerMs, "window \(w.index) of \(name)")
            }
            // Real audio, not a zero-filled buffer: the GRID clip is speech.
            if name != "car-detection.mp4" {
                let energy = windows.flatMap(\.audio).reduce(0) { $0 + $1 * $1 }
                XCTAssertGreaterThan(energy, 1, name)
            }
        }
    }

    func testVideoWithoutAudioGivesEmptyAudio() throws {
        let (_, windows) = try decodeAll("bikes.mp4")
        XCTAssertTrue(windows.allSatisfy { $0.audio.isEmpty })
    }

    func testVariableFrameRateSamplesFirstFrameAtOrAfterEachTick() throws {
        // All frame times, independently of the sampler.
        let (_, every) = try decodeAll("vfr.mp4") { $0.sampling = .everyFrame }
        let all = every.flatMap { $0.frames.map(\.ptsMs) }
        XCTAssertEqual(all.count, 90) // 120 frames minus the 30 dropped
        XCTAssertEqual(all, all.sorted())
        XCTAssertGreaterThan(zip(all.dropFirst(), all).map { $0 - $1 }.max()!, 900, "the fixture has a ~1 s gap")

        let (_, windows) = try decodeAll("vfr.mp4")
        assertTiles(windows)
        let sampled = windows.flatMap { $0.frames.map(\.ptsMs) }
        var expected: [Int64] = []
        var tick: Int64 = 0
        for t in all where t >= tick {
            expected.append(t)
            tick = (t / 1000 + 1) * 1000
        }
        XCTAssertEqual(sampled, expected)
    }

    func testPTSJumpIsReanchoredAndMonotonic() throws {
        let (source, windows) = try decodeAll("pts-jump.ts") { $0.sampling = .everyFrame }
        assertTiles(windows)
        let times = windows.flatMap { $0.frames.map(\.ptsMs) }
        XCTAssertEqual(times, times.sorted(), "times stay monotonic across the jump")
        XCTAssertGreaterThanOrEqual(source.stats.discontinuities, 1)
        // Two 2 s segments: the timeline is ~4 s long, not 1000 s.
        XCTAssertLessThan(windows.last!.endMs, 5_000)
        XCTAssertGreaterThan(windows.last!.endMs, 3_500)
        XCTAssertGreaterThanOrEqual(times.count, 95)
        let gaps = zip(times.dropFirst(), times).map { $0 - $1 }
        XCTAssertLessThanOrEqual(gaps.max()!, 200, "no hole where the jump was")
    }

    func testOddFrameSizeAndScaling() throws {
        let (_, native) = try decodeAll("odd-size.mkv")
        let frame = try XCTUnwrap(native.first?.frames.first)
        XCTAssertEqual([frame.width, frame.height], [177, 99])
        XCTAssertEqual(frame.rgb.count, 177 * 99 * 3)

        let (_, scaled) = try decodeAll("odd-size.mkv") {
            $0.frameSize = FrameSize(width: 224, height: 224)
            $0.pixelLayout = .planarF32
        }
        let f = try XCTUnwrap(scaled.first?.frames.first)
        XCTAssertEqual([f.width, f.height], [224, 224])
        XCTAssertEqual(f.planar.count, 3 * 224 * 224)
        XCTAssertTrue(f.rgb.isEmpty)
        XCTAssertTrue(f.planar.allSatisfy { $0 >= 0 && $0 <= 1 })
        XCTAssertGreaterThan(Set(f.planar.prefix(224 * 224).map { Int($0 * 255) }).count, 20, "a real image, not a flat fill")
    }

    func testPlanarLayoutMatchesRGB() {
        // Two pixels: red and (10, 20, 30).
        let planar = FrameScaler.planarFloat(rgb: [255, 0, 0, 10, 20, 30], width: 2, height: 1)
        let expected: [Float] = [1, 10 / 255, 0, 20 / 255, 0, 30 / 255] // (3 planes, 1 row, 2 pixels)
        XCTAssertEqual(planar.count, expected.count)
        for (a, b) in zip(planar, expected) { XCTAssertEqual(a, b, accuracy: 1e-6) }
    }

    func testKeyframesOnlyDecodesOnlyKeyframes() throws {
        let (source, windows) = try decodeAll("car-detection.mp4") { $0.sampling = .keyframesOnly }
        let frames = windows.flatMap(\.frames)
        XCTAssertFalse(frames.isEmpty)
        XCTAssertTrue(frames.allSatisfy(\.isKeyframe))
        XCTAssertLessThan(source.stats.videoFramesDecoded, 377 / 4, "non-key frames were skipped")
    }

    /// Skipping frames no tick can use (non-reference frames, and runs up to the key frame
    /// the next tick needs) must not change what is sampled: same times, same pixels, on
    /// fixtures with regular and irregular key frames, B-frames, VFR and odd sizes, at
    /// several rates and thread counts.
    func testSkippingUnsampledFramesSamplesExactlyWhatFullDecodingSamples() throws {
        var jumped = 0
        for name in ["bikes.mp4", "car-detection.mp4", "carphone.mp4", "vfr.mp4", "odd-size.mkv", "truncated.mp4"] {
            for fps in [0.5, 1, 3] {
                for threads in [1, 2] {
                    func run(skip: Bool) throws -> (MediaSource, [VideoFrame]) {
                        let (source, windows) = try decodeAll(name) {
                            $0.sampling = .fps(fps)
                            $0.decodeThreads = threads
                            $0.frameSize = FrameSize(width: 64, height: 48)
                            $0.skipUnsampledFrames = skip
                        }
                        return (source, windows.flatMap(\.frames))
                    }
                    let (skipping, fast) = try run(skip: true)
                    let (full, reference) = try run(skip: false)
                    let what = "\(name) at \(fps) fps, \(threads) threads"
                    XCTAssertEqual(fast.map(\.ptsMs), reference.map(\.ptsMs), what)
                    XCTAssertTrue(zip(fast, reference).allSatisfy { $0.rgb == $1.rgb }, "\(what): pixels differ")
                    XCTAssertEqual(full.stats.videoPacketsSkipped, 0, what)
                    XCTAssertLessThanOrEqual(skipping.stats.videoFramesDecoded, full.stats.videoFramesDecoded, what)
                    jumped += skipping.stats.videoPacketsSkipped
                }
            }
        }
        XCTAssertGreaterThan(jumped, 0, "the fixtures include runs up to a key frame that no tick needs")
    }

    func testTruncatedFileYieldsTheWindowsThatExist() throws {
        let (source, windows) = try decodeAll("truncated.mp4")
        assertTiles(windows)
        XCTAssertGreaterThanOrEqual(windows.count, 2)
        XCTAssertLessThan(windows.last!.endMs, 10_000, "the cut-off tail is not invented")
        XCTAssertGreaterThan(windows.flatMap(\.frames).count, 2)
        XCTAssertEqual(source.info.durationMs, 10_006)
    }

    func testAsyncSequenceDeliversTheSameWindows() async throws {
        let (_, expected) = try decodeAll("grid-speech.mpg")
        var options = MediaOptions()
        options.bufferedWindows = 1
        let source = try MediaSource(input: Fixtures.path("media/grid-speech.mpg"), options: options)
        var got: [MediaWindow] = []
        for try await w in source.windows() { got.append(w) }
        XCTAssertEqual(got.map(\.startMs), expected.map(\.startMs))
        XCTAssertEqual(got.map(\.endMs), expected.map(\.endMs))
        XCTAssertEqual(got.map(\.audio), expected.map(\.audio))
    }

    func testAsyncSequenceStopsDecodingWhenConsumerStops() async throws {
        var options = MediaOptions()
        options.bufferedWindows = 1
        let source = try MediaSource(input: Fixtures.path("media/car-detection.mp4"), options: options)
        for try await _ in source.windows() { break }
        // The decode thread is at most the buffer (plus the window in hand) ahead: it did not run to the end.
        XCTAssertLessThan(source.stats.videoFramesDecoded, 377)
    }
}
