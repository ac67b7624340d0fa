// End to end against a real RTSP server: GStreamer's (Scripts/rtsp-serve) serving a real
// clip with a username and password, as a camera does. The daemon ingests it (windows,
// motion evidence at wall-clock times); the server is killed and started again like a
// rebooting camera and the stream comes back; a wrong password is a clear error in
// `sightline streams` and /v1/streams, retried with growing delays, and the password
// appears in no API answer, event or log line. Skipped, naming the Debian packages, when
// GStreamer's RTSP server is not installed.
import Foundation
import Server
import TestSupport
import XCTest

/// `Scripts/rtsp-serve` on a loopback port: a password-protected camera that can reboot.
final class RTSPCamera {
    static let packages = "gir1.2-gst-rtsp-server-1.0 python3-gi gstreamer1.0-plugins-good gstreamer1.0-plugins-bad "
        + "gstreamer1.0-plugins-ugly gstreamer1.0-libav"
    static var script: String { Fixtures.repositoryRoot.appendingPathComponent("Scripts/rtsp-serve").path }
    static let python = "/usr/bin/python3"

    let clip: String
    let port: Int
    let user: String
    let password: String
    var process: Process?

    init(clip: String, user: String, password: String, port: Int = E2E.freePort()) {
        self.clip = clip
        self.user = user
        self.password = password
        self.port = port
    }

    /// Skips the calling test unless the system Python has GStreamer's RTSP server and every element.
    static func requireInstalled() throws {
        guard FileManager.default.isExecutableFile(atPath: python) else {
            throw XCTSkip("GStreamer's RTSP server needs the system Python: apt-get install \(packages)")
        }
        let (code, output) = try E2E.run(python, [script, "--check", "--clip", "-"])
        if code != 0 {
            throw XCTSkip("GStreamer's RTSP server is not installed (\(output.split(separator: "\n").last ?? "")): apt-get install \(packages)")
        }
    }

    /// The URL with the credentials a stream file would hold.
    func url(password: String? = nil) -> String { "rtsp://\(user):\(password ?? self.password)@127.0.0.1:\(port)/stream" }

    /// Starts the server and waits for its "ready" line.
    func start() throws {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: Self.python)
        p.arguments = [Self.script, "--clip", clip, "--port", "\(port)", "--user", user, "--password", password]
        let out = Pipe()
        p.standardOutput = out
        p.standardError = FileHandle.nullDevice
        try p.run()
        process = p
        // The first line is "ready ..." once it listens (or EOF when it failed).
        var line: [UInt8] = []
        let handle = out.fileHandleForReading
        while !line.contains(UInt8(ascii: "\n")) {
            let data = handle.availableData
            if data.isEmpty { break }
            line += data
        }
        guard String(decoding: line, as: UTF8.self).hasPrefix("ready ") else {
            throw E2EFailure(description: "rtsp-serve did not start on port \(port): \(String(decoding: line, as: UTF8.self))")
        }
    }

    /// Power cut: the server is gone at once, mid-stream.
    func kill9() {
        guard let p = process, p.isRunning else { return }
        kill(p.processIdentifier, SIGKILL)
        p.waitUntilExit()
    }

    deinit { kill9() }
}

final class RTSPTests: XCTestCase {
    let clip = Fixtures.path("media/car-detection.mp4")

    func rtspStreamTOML(_ url: String) -> String {
        """
        id = "door"
        source = "\(url)"
        [sampling]
        fps = 1.0
        window = "2s"
        [live]
        connect_timeout = "5s"
        read_timeout = "5s"
        rtsp_transport = "tcp"
        [[queries]]
        text = "motion"
        """
    }

    /// Every place a user or a log reader could see the password: the API, the CLI, events, the log.
    func everythingShown(_ daemon: DaemonProcess) throws -> [(String, String)] {
        let (_, cli) = try E2E.run(E2E.binary, ["streams", "--socket", daemon.socket])
        let (_, cliJSON) = try E2E.run(E2E.binary, ["streams", "--json", "--socket", daemon.socket])
        return [("/v1/streams", try daemon.client.call("GET", "/v1/streams").text),
                ("/v1/health", try daemon.client.call("GET", "/v1/health").text),
                ("/v1/events", try daemon.client.call("GET", "/v1/events?format=json&limit=1000").text),
                ("sightline streams", cli), ("sightline streams --json", cliJSON), ("log", daemon.log)]
    }

    func testPasswordProtectedCameraIsIngestedAndComesBackAfterReboots() throws {
        try RTSPCamera.requireInstalled()
        let password = "Pa55-camera-secret"
        let camera = RTSPCamera(clip: clip, user: "viewer", password: password)
        try camera.start()
        let daemon = try DaemonProcess()
        try daemon.addStream("door", rtspStreamTOML(camera.url()))
        try daemon.start()

        try E2E.waitUntil("3 windows over RTSP\n\(daemon.log)", seconds: 60) { try daemon.windows("door") >= 3 }
        XCTAssertEqual(try daemon.stream("door")["state"] as? String, "running")
        // The clip's moving cars: motion evidence, at wall-clock times (a live source).
        let nowMs = Int64(Date().timeIntervalSince1970 * 1000)
        let reply = try daemon.client.call("POST", "/v1/query", json: ["text": "motion", "streams": ["door"]])
        let moments = (try JSONSerialization.jsonObject(with: Data(reply.body)) as? [String: Any])?["moments"] as? [[String: Any]] ?? []
        XCTAssertFalse(moments.isEmpty, reply.text)
        let start = (moments.first?["start_ms"] as? NSNumber)?.int64Value ?? 0
        XCTAssertLessThan(abs(nowMs - start), 120_000, "RTSP windows carry wall-clock times: \(start) vs \(nowMs)")

        // Two reboots: the server dies mid-stream, the stream says so, and resumes when it is back.
        for reboot in 1...2 {
            camera.kill9()
            try E2E.waitUntil("reconnecting after reboot \(reboot)\n\(daemon.log)", seconds: 30) {
                try daemon.stream("door")["state"] as? String == "reconnecting"
            }
            let during = try daemon.windows("door")
            try camera.start()
            try E2E.waitUntil("ingesting again after reboot \(reboot)\n\(daemon.log)", seconds: 60) {
                try daemon.stream("door")["state"] as? String == "running" && daemon.windows("door") >= during + 2
            }
        }
        XCTAssertGreaterThanOrEqual(try daemon.stream("door")["reconnects"] as? Int ?? 0, 2)
        for (place, text) in try everythingShown(daemon) {
            XCTAssertFalse(text.contains(password), "the camera password is shown in \(place)")
        }
        daemon.terminate()
        XCTAssertEqual(daemon.process?.terminationStatus, 0, daemon.log)
    }

    func testWrongPasswordIsAClearErrorRetriedWithBackoffAndNeverShown() throws {
        try RTSPCamera.requireInstalled()
        let camera = RTSPCamera(clip: clip, user: "viewer", password: "the-right-one")
        try camera.start()
        let daemon = try DaemonProcess()
        let wrong = "Wr0ng-guess-42"
        try daemon.addStream("door", rtspStreamTOML(camera.url(password: wrong)))
        try daemon.start()

        try E2E.waitUntil("the stream reports the refused login\n\(daemon.log)", seconds: 30) {
            let s = try daemon.stream("door")
            return s["state"] as? String == "reconnecting" && (s["last_error"] as? String ?? "").contains("401")
        }
        let error = try daemon.stream("door")["last_error"] as? String ?? ""
        XCTAssertTrue(error.contains("401 Unauthorized") || error.contains("authorization failed"), error)
        XCTAssertTrue(error.contains("127.0.0.1:\(camera.port)/stream"), "the error names the camera: \(error)")
        let (code, cli) = try E2E.run(E2E.binary, ["streams", "--socket", daemon.socket])
        XCTAssertEqual(code, 0, cli)
        XCTAssertTrue(cli.contains("door") && cli.contains("reconnecting") && cli.contains("401"), cli)

        // Retried with growing delays (1 s, 2 s, 4 s, ... ±20 %), not hammered and not given up.
        let first = Date()
        let firstCount = try daemon.stream("door")["reconnects"] as? Int ?? 0
        try E2E.waitUntil("three more attempts\n\(daemon.log)", seconds: 30) {
            try daemon.stream("door")["reconnects"] as? Int ?? 0 >= firstCount + 3
        }
        let elapsed = Date().timeIntervalSince(first)
        XCTAssertGreaterThan(elapsed, 0.8 * (2 + 4) - 1, "three retries after the first came too fast: \(elapsed) s")
        XCTAssertEqual(try daemon.stream("door")["state"] as? String, "reconnecting")
        let delays = daemon.log.components(separatedBy: "retry.delay_ms=").dropFirst().compactMap { Int($0.prefix { $0.isNumber }) }
        XCTAssertGreaterThanOrEqual(delays.count, 3, daemon.log)
        for (a, b) in zip(delays, delays.dropFirst()) where b < 40_000 {
            XCTAssertGreaterThan(Double(b), 1.2 * Double(a), "delays grow: \(delays)")
        }

        for (place, text) in try everythingShown(daemon) {
            XCTAssertFalse(text.contains(wrong), "the password is shown in \(place)")
        }
        daemon.terminate()
        XCTAssertEqual(daemon.process?.terminationStatus, 0, daemon.log)
    }
}
