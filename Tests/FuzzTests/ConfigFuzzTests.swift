// Configuration fuzzing: the shipped `Config/sightline.toml` and every shipped
// `Streams/*.toml`, mutated by a seeded generator (values set to extremes and wrong types,
// lines repeated, dropped, swapped and shuffled, junk tables and deep nesting inserted,
// bytes randomised, invalid UTF-8, truncation), loaded together by the same
// `Configuration.load` that `serve`, SIGHUP and `config check` use, then rendered as
// `config check --print` does. Every case must load or throw a `ConfigError` naming the
// file; a trap ends the test process. A sample goes through `sightline config check` and
// `sightline serve` (exit 0, or 2 with the reason; a valid one serves until SIGTERM).
import Daemon
import Foundation
import Server
import TestSupport
import XCTest

/// One mutated pair: the daemon file and one stream file.
struct ConfigCase {
    var daemon: [UInt8]
    var streamName: String
    var stream: [UInt8]
    var what: String
}

enum ConfigCorpus {
    static var daemonFile: String { Fixtures.repositoryRoot.appendingPathComponent("Config/sightline.toml").path }
    static var streamFiles: [String] {
        let dir = Fixtures.repositoryRoot.appendingPathComponent("Streams").path
        return ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).filter { $0.hasSuffix(".toml") }.sorted()
            .map { dir + "/" + $0 }
    }

    static func text(_ path: String) -> String { (try? String(contentsOfFile: path, encoding: .utf8)) ?? "" }

    /// `count` cases from `seed`: the daemon file, a stream file or both mutated, one to three times.
    static func cases(count: Int, seed: UInt64) -> [ConfigCase] {
        var m = Mutator(seed: seed)
        let daemon = text(daemonFile)
        let streams = streamFiles.map { (name: ($0 as NSString).lastPathComponent, text: text($0)) }
        var cases: [ConfigCase] = []
        while cases.count < count {
            let s = m.pick(streams)
            var d = daemon, t = s.text, what: [String] = []
            let target = m.int(0..<3) // 0: daemon file, 1: stream file, 2: both
            for _ in 0..<m.int(1...3) {
                if target != 1 { let r = m.mutateText(d); d = r.text; what.append("sightline.toml " + r.what) }
                if target != 0 { let r = m.mutateText(t); t = r.text; what.append("\(s.name) " + r.what) }
            }
            var dBytes = Array(d.utf8), tBytes = Array(t.utf8)
            // Invalid UTF-8 now and then (Swift strings cannot hold it; the files can).
            if m.chance(0.03), !dBytes.isEmpty { dBytes[m.int(0..<dBytes.count)] = m.pick([0xC0, 0xFF, 0xED, 0x80]); what.append("sightline.toml invalid UTF-8") }
            if m.chance(0.03), !tBytes.isEmpty { tBytes[m.int(0..<tBytes.count)] = m.pick([0xC0, 0xFF, 0xED, 0x80]); what.append("\(s.name) invalid UTF-8") }
            cases.append(ConfigCase(daemon: dBytes, streamName: s.name, stream: tBytes, what: what.joined(separator: "; ")))
        }
        return cases
    }

    /// Writes a case as `<dir>/sightline.toml` and `<dir>/streams/<name>`; returns the two paths.
    static func write(_ c: ConfigCase, to dir: String) throws -> (config: String, streams: String) {
        let streams = dir + "/streams"
        try? FileManager.default.removeItem(atPath: streams)
        try FileManager.default.createDirectory(atPath: streams, withIntermediateDirectories: true)
        try Data(c.daemon).write(to: URL(fileURLWithPath: dir + "/sightline.toml"))
        try Data(c.stream).write(to: URL(fileURLWithPath: streams + "/" + c.streamName))
        return (dir + "/sightline.toml", streams)
    }
}

final class ConfigFuzzTests: XCTestCase {
    static let seed: UInt64 = 0x5167_4C49_4E45_0002

    func testThousandMutatedConfigurationsLoadOrNameTheirError() throws {
        let tmp = try TemporaryDirectory(prefix: "config-fuzz")
        let cases = ConfigCorpus.cases(count: 1_000, seed: Self.seed)
        var loaded = 0, rejected = 0, kinds: [String: Int] = [:]
        let started = Date()
        for (i, c) in cases.enumerated() {
            let (config, streams) = try ConfigCorpus.write(c, to: tmp.url.path)
            do {
                let configuration = try Configuration.load(file: config, streamsDir: streams)
                // What `config check --print` shows: every value rendered back.
                XCTAssertFalse(configuration.report(printValues: true).isEmpty)
                loaded += 1
            } catch let e as ConfigError {
                rejected += 1
                let text = e.description
                kinds[Self.kind(e), default: 0] += 1
                let namesFile = text.contains(config) || text.contains(streams) || text.hasPrefix("stream id")
                XCTAssertTrue(namesFile, "case \(i) (\(c.what)): the error names no file: \(text)")
            } catch {
                XCTFail("case \(i) (\(c.what)): not a ConfigError: \(error)")
            }
        }
        print("config fuzz: \(cases.count) cases (seed \(Self.seed)), \(loaded) loaded, \(rejected) rejected \(kinds), "
              + String(format: "%.1f s", Date().timeIntervalSince(started)))
        // Both paths must be exercised: some mutations keep a file valid (an extreme value in
        // range, a repeated comment) and must load. How many depends on how many lines the
        // shipped files have (86 of 1,000 with this seed and today's files), so the floor is
        // only that it is a real share, not an exact count.
        XCTAssertGreaterThan(loaded, 50, "mutations that keep a file valid (an extreme value in range) load")
        XCTAssertGreaterThan(rejected, 400)
    }

    /// A sample through `sightline config check --print`: exit 0, or 2 with one message naming the file.
    func testSampleThroughConfigCheck() throws {
        let tmp = try TemporaryDirectory(prefix: "config-fuzz-cli")
        let cases = ConfigCorpus.cases(count: 60, seed: Self.seed ^ 0xC11)
        var codes: [Int32: Int] = [:]
        for (i, c) in cases.enumerated() {
            let (config, streams) = try ConfigCorpus.write(c, to: tmp.url.path)
            let r = try Fixtures.run("sightline", ["config", "check", "--config", config, "--streams", streams, "--print"])
            codes[r.status, default: 0] += 1
            XCTAssertTrue(r.status == 0 || r.status == 2, "case \(i) (\(c.what)): exit \(r.status)\n\(r.stderr)")
            if r.status == 0 { XCTAssertTrue(r.stdout.hasPrefix("ok: "), "case \(i): \(r.stdout.prefix(200))") }
            if r.status == 2 { XCTAssertTrue(r.stderr.hasPrefix("sightline: "), "case \(i) (\(c.what)): \(r.stderr)") }
        }
        print("config fuzz through config check: \(cases.count) runs, exit codes \(codes)")
        XCTAssertGreaterThan(codes[2, default: 0], 10)
    }

    static func kind(_ e: ConfigError) -> String {
        switch e {
        case .unreadable: return "unreadable"
        case .syntax: return "syntax"
        case .unknownKey: return "unknown key"
        case .badValue: return "bad value"
        case .missingKey: return "missing key"
        case .duplicateStream: return "duplicate stream"
        }
    }

    /// Settings of the serve sample replaced by the ends of their allowed ranges.
    static let inRangeExtremes: [(String, String)] = [
        ("max_connections = 16", "max_connections = 10000"), ("max_connections = 16", "max_connections = 1"),
        ("request_timeout = \"10s\"", "request_timeout = \"1h\""), ("request_timeout = \"10s\"", "request_timeout = \"100ms\""),
        ("queue_windows = 8", "queue_windows = 1024"), ("queue_windows = 8", "queue_windows = 1"),
        ("max_request_size = \"64KiB\"", "max_request_size = \"1KiB\""), ("stall_timeout = \"2m\"", "stall_timeout = \"1h\""),
        ("retention_interval = \"5m\"", "retention_interval = \"1s\""), ("retention_max_size = \"1GiB\"", "retention_max_size = \"off\""),
        ("fps = 1.0", "fps = 120.0"), ("fps = 1.0", "fps = 0.01"), ("window = \"2s\"", "window = \"250ms\""),
        ("window = \"2s\"", "window = \"60s\""), ("connect_timeout = \"10s\"", "connect_timeout = \"100ms\""),
        ("min_score = 0.0", "min_score = 1000.0"), ("kernel = 1", "kernel = 256"), ("decode = 1", "decode = 64"),
    ]

    /// A small, valid pair for the `serve` sample: no picture models, Whisper tiny.en, a
    /// bundled clip replayed in real time, so a mutation that stays valid starts in seconds.
    static func serveBase(state: String) -> (daemon: String, stream: String) {
        let daemon = """
        [paths]
        state_dir = "\(state)"
        models_dir = "\(Fixtures.modelsDirectory)"
        [models]
        speech = "whisper-tiny.en"
        vad = true
        people = "none"
        faces = "none"
        labels = "none"
        ocr = "none"
        text_embedding = "none"
        [threads]
        kernel = 1
        decode = 1
        [store]
        path = "fuzz.sqlite"
        retention_max_age = "7d"
        retention_max_size = "1GiB"
        retention_interval = "5m"
        [socket]
        mode = "0600"
        group = ""
        [access]
        allowed_uids = [0]
        allowed_gids = []
        allowed_groups = []
        [limits]
        max_connections = 16
        max_request_size = "64KiB"
        request_timeout = "10s"
        queue_windows = 8
        [watchdog]
        stall_timeout = "2m"
        """
        let stream = """
        id = "cam"
        source = "\(Fixtures.path("media/car-detection.mp4"))"
        realtime = true
        loop = true
        [sampling]
        mode = "fps"
        fps = 1.0
        window = "2s"
        [modalities]
        speech = false
        motion = true
        [live]
        connect_timeout = "10s"
        read_timeout = "10s"
        [retention]
        max_age = "1d"
        [[queries]]
        text = "motion"
        min_score = 0.0
        """
        return (daemon, stream)
    }

    /// A sample through `sightline serve`: each mutated pair either starts (answers
    /// /v1/health, then exits 0 on SIGTERM) or exits 2 with the reason; never a signal.
    func testSampleThroughServe() throws {
        let tmp = try TemporaryDirectory(prefix: "cfz")
        let base = Self.serveBase(state: tmp.path("state"))
        var m = Mutator(seed: Self.seed ^ 0x5E7E)
        var started = 0, refused = 0
        for i in 0..<12 {
            var d = base.daemon, s = base.stream, what: [String] = []
            if i % 3 == 0 {
                // Values at the edges of their ranges: the daemon must start with them.
                for (old, new) in [Self.inRangeExtremes.randomElement(using: &m.rng)!, Self.inRangeExtremes.randomElement(using: &m.rng)!] {
                    d = d.replacingOccurrences(of: old, with: new)
                    s = s.replacingOccurrences(of: old, with: new)
                    what.append(new)
                }
            } else {
                // Every other run mutates the stream file only; the rest the daemon file too.
                if i % 2 == 0 { let r = m.mutateText(d); d = r.text; what.append("sightline.toml " + r.what) }
                let r = m.mutateText(s); s = r.text; what.append("cam.toml " + r.what)
            }
            let c = ConfigCase(daemon: Array(d.utf8), streamName: "cam.toml", stream: Array(s.utf8), what: what.joined(separator: "; "))
            let (config, streams) = try ConfigCorpus.write(c, to: tmp.url.path)
            let socket = tmp.path("api.sock")
            try? FileManager.default.removeItem(atPath: socket)
            let log = tmp.path("serve-\(i).log")
            _ = FileManager.default.createFile(atPath: log, contents: nil)
            let p = Process()
            p.executableURL = Fixtures.productsDirectory.appendingPathComponent("sightline")
            p.arguments = ["serve", "--config", config, "--streams", streams, "--socket", socket, "--state-dir", tmp.path("state")]
            let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: log))
            p.standardOutput = handle
            p.standardError = handle
            try p.run()
            let client = UnixHTTPClient(socketPath: socket, timeoutMs: 2000)
            let deadline = Date().addingTimeInterval(30)
            var healthy = false
            while p.isRunning && Date() < deadline {
                if (try? client.request("GET", "/v1/health").status) == 200 { healthy = true; break }
                Thread.sleep(forTimeInterval: 0.1)
            }
            if p.isRunning { kill(p.processIdentifier, SIGTERM) }
            p.waitUntilExit()
            let output = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
            XCTAssertEqual(p.terminationReason, .exit, "case \(i) (\(c.what)): killed by signal \(p.terminationStatus)\n\(output)")
            if healthy {
                started += 1
                XCTAssertEqual(p.terminationStatus, 0, "case \(i) (\(c.what)): served, then exit \(p.terminationStatus)\n\(output)")
            } else {
                refused += 1
                print("serve refused case \(i) (\(c.what)): \(output.split(separator: "\n").last ?? "")")
                XCTAssertEqual(p.terminationStatus, 2, "case \(i) (\(c.what)): neither served nor refused\n\(output)")
                XCTAssertTrue(output.contains("sightline: "), "case \(i) (\(c.what)): \(output)")
            }
        }
        print("config fuzz through serve: \(started) started and stopped, \(refused) refused with exit 2")
        XCTAssertGreaterThan(refused, 0)
        XCTAssertGreaterThanOrEqual(started, 4, "every run with values at the edges of their ranges starts")
    }
}
