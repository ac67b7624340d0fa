// Runs the real `sightline` binary (and the ffmpeg CLI as a live source) for end-to-end
// tests: temporary state and streams folders, a private socket, polling helpers with
// deadlines (the daemon's own timing is real here, so tests wait for conditions, bounded).
import Foundation
import Server
import TestSupport
import XCTest

enum E2E {
    /// The built `sightline` next to the test bundle (same build folder and configuration).
    static var binary: String {
        let candidates = [
            URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("sightline").path,
            Fixtures.repositoryRoot.appendingPathComponent(".build/release/sightline").path,
            Fixtures.repositoryRoot.appendingPathComponent(".build/debug/sightline").path,
        ]
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0) } ?? candidates[0]
    }

    /// Polls `condition` every 100 ms until it holds or `seconds` pass.
    static func waitUntil(_ what: String, seconds: Double, _ condition: () throws -> Bool) throws {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if (try? condition()) == true { return }
            Thread.sleep(forTimeInterval: 0.1)
        }
        if try condition() { return }
        throw E2EFailure(description: "timed out after \(seconds) s waiting for: \(what)")
    }

    static func freePort() -> Int { Int.random(in: 20_000..<60_000) }

    /// Runs `exe`; with `asUser`, as that uid (and gid) with exactly `groups` as supplementary groups.
    static func run(_ exe: String, _ args: [String], asUser uid: Int? = nil, groups: [Int] = []) throws -> (Int32, String) {
        let p = Process()
        if let uid {
            p.executableURL = URL(fileURLWithPath: "/usr/bin/setpriv")
            let groupArgument = groups.isEmpty ? "--clear-groups" : "--groups=\(groups.map(String.init).joined(separator: ","))"
            p.arguments = ["--reuid=\(uid)", "--regid=\(uid)", groupArgument, exe] + args
        } else {
            p.executableURL = URL(fileURLWithPath: exe)
            p.arguments = args
        }
        let pipe = Pipe()
        p.standardOutput = pipe
        p.standardError = pipe
        try p.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: data, as: UTF8.self))
    }
}

struct E2EFailure: Error, CustomStringConvertible {
    var description: String
}

/// A temporary daemon installation: config, streams folder, state folder, socket.
final class DaemonProcess {
    let dir: URL
    let socket: String
    let streamsDir: URL
    var process: Process?
    let logURL: URL

    /// Allowed by the config; no test user has it as primary group, only via setpriv --groups.
    static let allowedSupplementaryGid = 4343

    /// `vision: false` turns the picture models off ([models] people/faces/labels/ocr = "none"):
    /// the tests that are not about seeing then measure ingest, API and recovery alone, as
    /// they did before the picture modalities existed, within their two-core time budget.
    /// `limits` replaces the body of the config's [limits] table; `extra` is appended to the
    /// config (more tables).
    init(vision: Bool = false, limits: String = "max_request_size = \"4KiB\"", extra: String = "") throws {
        // Short path: Unix socket paths are limited to 107 bytes.
        dir = URL(fileURLWithPath: "/tmp/sl-e2e-\(UUID().uuidString.prefix(8))")
        streamsDir = dir.appendingPathComponent("streams")
        try FileManager.default.createDirectory(at: streamsDir, withIntermediateDirectories: true)
        socket = dir.appendingPathComponent("api.sock").path
        logURL = dir.appendingPathComponent("daemon.log")
        // Socket mode 0666 so that the refused-uid test reaches the SO_PEERCRED check
        // (with 0660 the kernel would refuse the connect before the daemon sees it).
        // Real models (Scripts/fetch-models put them here); Whisper loads in about a second.
        let models = Fixtures.modelsDirectory
        try """
        [paths]
        models_dir = "\(models)"
        [socket]
        mode = "0666"
        group = ""
        [access]
        allowed_groups = []
        allowed_gids = [\(Self.allowedSupplementaryGid)]
        [limits]
        \(limits)
        [store]
        retention_interval = "1h"
        \(vision ? "" : "[models]\npeople = \"none\"\nfaces = \"none\"\nlabels = \"none\"\nocr = \"none\"")
        \(extra)
        """.write(to: dir.appendingPathComponent("sightline.toml"), atomically: true, encoding: .utf8)
    }

    deinit {
        if let p = process, p.isRunning { kill(p.processIdentifier, SIGKILL) }
        try? FileManager.default.removeItem(at: dir)
    }

    var client: APIClient { APIClient(socketPath: socket, timeoutMs: 5000) }
    var storePath: String { dir.appendingPathComponent("state/sightline.sqlite").path }

    func addStream(_ name: String, _ toml: String) throws {
        try toml.write(to: streamsDir.appendingPathComponent("\(name).toml"), atomically: true, encoding: .utf8)
    }

    func start() throws {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: E2E.binary)
        p.arguments = ["serve", "--config", dir.appendingPathComponent("sightline.toml").path,
                       "--streams", streamsDir.path, "--socket", socket,
                       "--state-dir", dir.appendingPathComponent("state").path]
        FileManager.default.createFile(atPath: logURL.path, contents: nil)
        let log = try FileHandle(forWritingTo: logURL)
        log.seekToEndOfFile()
        p.standardOutput = log
        p.standardError = log
        try p.run()
        process = p
        try E2E.waitUntil("daemon ready on \(socket)\n\(self.log)", seconds: 30) {
            (try? client.http.request("GET", "/v1/health").status) == 200
        }
    }

    var pid: Int32 { process?.processIdentifier ?? -1 }
    var log: String { (try? String(contentsOf: logURL, encoding: .utf8)) ?? "" }

    func streams() throws -> [[String: Any]] {
        let reply = try client.call("GET", "/v1/streams")
        return (try JSONSerialization.jsonObject(with: Data(reply.body)) as? [String: Any])?["streams"] as? [[String: Any]] ?? []
    }

    func stream(_ id: String) throws -> [String: Any] {
        try streams().first { $0["id"] as? String == id } ?? [:]
    }

    func windows(_ id: String) throws -> Int { try stream(id)["windows_processed"] as? Int ?? 0 }

    func terminate() {
        guard let p = process, p.isRunning else { return }
        kill(p.processIdentifier, SIGTERM)
        p.waitUntilExit()
    }

    func killHard() {
        guard let p = process, p.isRunning else { return }
        kill(p.processIdentifier, SIGKILL)
        p.waitUntilExit()
    }

    /// Open file descriptors and resident memory (KiB) of the daemon, from /proc.
    func resources() -> (fds: Int, rssKiB: Int) {
        let fds = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd").count) ?? -1
        let status = (try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)) ?? ""
        let rss = status.split(separator: "\n").first { $0.hasPrefix("VmRSS:") }
            .flatMap { Int($0.split(separator: " ").dropFirst().first ?? "") } ?? -1
        return (fds, rss)
    }
}

/// `ffmpeg -re` serving a real clip as a live MPEG-TS stream over HTTP on loopback.
final class LiveSource {
    let port: Int
    let clip: String
    var process: Process?

    /// Audio codec to re-encode to (MPEG-TS cannot carry WAV's PCM); nil copies the streams.
    let audioCodec: String?

    init(clip: String, port: Int = E2E.freePort(), audioCodec: String? = nil) {
        self.clip = clip
        self.port = port
        self.audioCodec = audioCodec
    }

    var url: String { "http://127.0.0.1:\(port)/live.ts" }

    func start() throws {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/ffmpeg")
        let codecs = audioCodec.map { ["-c:v", "copy", "-c:a", $0] } ?? ["-c", "copy"]
        p.arguments = ["-hide_banner", "-loglevel", "error", "-re", "-stream_loop", "-1", "-i", clip]
            + codecs + ["-f", "mpegts", "-listen", "1", url]
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        process = p
    }

    func kill9() {
        guard let p = process, p.isRunning else { return }
        kill(p.processIdentifier, SIGKILL)
        p.waitUntilExit()
    }

    deinit { kill9() }
}

/// A TCP listener on loopback that accepts connections (in the kernel's backlog) and never
/// answers: a camera that hangs during the handshake.
final class SilentListener {
    let fd: Int32
    let port: Int

    init() throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        self.fd = fd
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        let ok = withUnsafeMutablePointer(to: &addr) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) == 0 && listen(fd, 8) == 0 && getsockname(fd, $0, &len) == 0 }
        }
        guard ok else { throw E2EFailure(description: "cannot listen on loopback: \(String(cString: strerror(errno)))") }
        port = Int(UInt16(bigEndian: addr.sin_port))
    }

    deinit { close(fd) }
}
