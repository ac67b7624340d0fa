// Live inputs against real peers on loopback: wall-clock epoch times, and timeouts that a
// supervisor can act on.
import XCTest
import TestSupport
@testable import MediaIO

final class LiveInputTests: XCTestCase {
    func testHTTPLiveStreamGetsEpochTimesAndWindows() async throws {
        // The probe of a -listen 1 server would use up its single client, so go straight to decoding.
        let streamer = try FFmpegHTTPStreamer(file: Fixtures.path("media/grid-speech.mpg"))
        defer { streamer.stop() }
        let before = Int64(Date().timeIntervalSince1970 * 1000)
        var options = MediaOptions()
        options.readTimeoutMs = 5000
        let source = try streamer.whenListening { try MediaSource(input: streamer.url, options: options) }
        XCTAssertTrue(source.info.isLive)
        var windows: [MediaWindow] = []
        for try await w in source.windows() { windows.append(w) }
        let after = Int64(Date().timeIntervalSince1970 * 1000)

        XCTAssertGreaterThanOrEqual(windows.count, 2)
        let first = try XCTUnwrap(windows.first)
        XCTAssertGreaterThanOrEqual(first.startMs, before - 1000, "epoch ms, anchored at open")
        XCTAssertLessThanOrEqual(first.startMs, after)
        for (a, b) in zip(windows, windows.dropFirst()) { XCTAssertEqual(a.endMs, b.startMs) }
        // Times advance by PTS, not by arrival: 3 s of media spans ~3 s of timeline.
        XCTAssertEqual(Double(windows.last!.endMs - first.startMs), 3000, accuracy: 300)
        let audio = windows.reduce(0) { $0 + $1.audio.count }
        XCTAssertEqual(Double(audio), 3 * 16000, accuracy: 16000 * 0.3)
        XCTAssertEqual(windows.flatMap(\.frames).count, 3)
    }

    func testSilentPeerTimesOut() throws {
        let server = SilentTCPServer()
        var options = MediaOptions()
        options.connectTimeoutMs = 800
        options.readTimeoutMs = 800
        let started = Date()
        XCTAssertThrowsError(try MediaSource(input: "http://127.0.0.1:\(server.port)/cam.ts", options: options)) { error in
            XCTAssertEqual(error as? MediaError, .readTimedOut(input: "http://127.0.0.1:\(server.port)/cam.ts", timeoutMs: 800))
        }
        let elapsed = Date().timeIntervalSince(started)
        XCTAssertGreaterThan(elapsed, 0.7)
        XCTAssertLessThan(elapsed, 5)
    }

    func testCancelFromAnotherThreadEndsABlockedLiveRead() throws {
        // A 30 s live stream, paced in real time: reads block waiting for the next packets.
        let streamer = try FFmpegHTTPStreamer(file: Fixtures.path("media/car-detection.mp4"))
        defer { streamer.stop() }
        let source = try streamer.whenListening { try MediaSource(input: streamer.url, options: MediaOptions()) }
        let started = Date()
        DispatchQueue.global().asyncAfter(deadline: .now() + 1) { source.cancel() }
        var windows = 0
        while let _ = try source.nextWindow() { windows += 1 }
        let elapsed = Date().timeIntervalSince(started)
        XCTAssertLessThan(elapsed, 5, "cancel() ended the stream long before its 30 s")
        XCTAssertLessThanOrEqual(windows, 2)
    }
}
