// Every bad input gives its typed error and a clear message: from the library and as
// exit code 2 from `sightline probe`.
import XCTest
import TestSupport
@testable import MediaIO

final class BadInputTests: XCTestCase {
    func openError(_ input: String, _ options: MediaOptions = MediaOptions()) -> MediaError? {
        do {
            _ = try MediaSource(input: input, options: options)
            return nil
        } catch {
            return error
        }
    }

    func testUnreadableInputsAreCannotOpen() {
        for name in ["empty.mp4", "not-media.mp4", "does-not-exist.mp4"] {
            let path = Fixtures.path("media/\(name)")
            guard case .cannotOpen(let input, let failure)? = openError(path) else {
                return XCTFail("\(name): expected cannotOpen, got \(String(describing: openError(path)))")
            }
            XCTAssertEqual(input, path)
            XCTAssertLessThan(failure.code, 0)
            XCTAssertEqual(failure.function, "avformat_open_input")
            XCTAssertTrue(openError(path)!.description.contains(path))
        }
        if case .cannotOpen(_, let f)? = openError(Fixtures.path("media/does-not-exist.mp4")) {
            XCTAssertEqual(f.message, "No such file or directory")
        }
    }

    /// Capture devices go through libavdevice, loaded on first use: a missing device is
    /// reported by the v4l2 input itself, which shows the library loaded and registered.
    func testMissingCaptureDeviceIsReportedByTheV4L2Input() {
        let device = "/dev/video-sightline-missing"
        guard case .cannotOpen(let input, let failure)? = openError(device) else {
            return XCTFail("expected cannotOpen, got \(String(describing: openError(device)))")
        }
        XCTAssertEqual(input, device)
        XCTAssertEqual(failure.function, "avformat_open_input", "\(failure)")
        XCTAssertEqual(failure.message, "No such file or directory")
    }

    func testMissingStreamKind() {
        var audioOnly = MediaOptions()
        audioOnly.decodeVideo = false
        XCTAssertEqual(openError(Fixtures.path("media/bikes.mp4"), audioOnly),
                       .noUsableStream(input: Fixtures.path("media/bikes.mp4"), wanted: "audio"))
    }

    func testInvalidOptionsAreRejected() {
        var o = MediaOptions()
        o.windowMs = 0
        guard case .invalidOptions? = openError(Fixtures.path("media/bikes.mp4"), o) else { return XCTFail() }
        o = MediaOptions()
        o.sampling = .fps(-1)
        guard case .invalidOptions? = openError(Fixtures.path("media/bikes.mp4"), o) else { return XCTFail() }
    }

    func testUnreachableLiveInputTimesOutOrFailsFast() {
        var o = MediaOptions()
        o.connectTimeoutMs = 1500
        o.readTimeoutMs = 1500
        let started = Date()
        // Port 9 on loopback: nothing listens, so the connection is refused at once.
        let error = openError("http://127.0.0.1:9/stream.ts", o)
        XCTAssertNotNil(error)
        XCTAssertLessThan(Date().timeIntervalSince(started), 5)
    }

    func testProbeExitsWithCode2AndAMessage() throws {
        for name in ["empty.mp4", "not-media.mp4", "does-not-exist.mp4"] {
            let r = try Fixtures.run("sightline", ["probe", Fixtures.path("media/\(name)")])
            XCTAssertEqual(r.status, 2, name)
            XCTAssertTrue(r.stderr.hasPrefix("sightline: cannot open"), r.stderr)
            XCTAssertTrue(r.stdout.isEmpty)
        }
        let noAudio = try Fixtures.run("sightline", ["probe", "--windows", Fixtures.path("media/bikes.mp4"), "--json"])
        XCTAssertEqual(noAudio.status, 0)
    }

    func testProbeJSONShape() throws {
        let r = try Fixtures.run("sightline", ["probe", "--json", "--windows", Fixtures.path("media/car-detection.mp4")])
        XCTAssertEqual(r.status, 0, r.stderr)
        let object = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        XCTAssertEqual(object["format"] as? String, "mov,mp4,m4a,3gp,3g2,mj2")
        XCTAssertEqual(object["duration_ms"] as? Int, 30208)
        let streams = try XCTUnwrap(object["streams"] as? [[String: Any]])
        XCTAssertEqual(streams.map { $0["type"] as? String }, ["video", "audio"])
        XCTAssertEqual(streams[0]["width"] as? Int, 768)
        XCTAssertEqual(streams[1]["sample_rate"] as? Int, 48000)
        let windows = try XCTUnwrap(object["windows"] as? [[String: Any]])
        XCTAssertEqual(windows.count, 16)
        XCTAssertEqual(windows[1]["start_ms"] as? Int, 2000)
        XCTAssertEqual(windows[1]["end_ms"] as? Int, 4000)
        XCTAssertEqual(windows[1]["frames"] as? Int, 2)
        XCTAssertEqual(windows[1]["audio_samples"] as? Int, 32000)
    }
}
