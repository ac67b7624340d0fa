// The sd_notify protocol against a real datagram socket (path and abstract namespace),
// socket-activation variables, and the watchdog that stops beating when a stream stalls.
import Foundation
import GRDB
import Logging
@testable import MediaIO
import Synchronization
import XCTest
@testable import Daemon
import SightlineCore
import TestSupport
@testable import Store

/// A bound AF_UNIX datagram socket standing in for systemd's notify socket.
final class NotifySocket {
    let fd: Int32
    let address: String
    init(abstract: Bool) throws {
        fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
        let name = "sl-notify-\(UUID().uuidString.prefix(8))"
        address = abstract ? "@\(name)" : NSTemporaryDirectory() + name
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        var bytes = Array(address.utf8)
        if abstract { bytes[0] = 0 }
        withUnsafeMutableBytes(of: &addr.sun_path) { raw in for (i, b) in bytes.enumerated() { raw[i] = b } }
        let len = socklen_t(MemoryLayout<sa_family_t>.size + bytes.count + (abstract ? 0 : 1))
        let rc = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) } }
        guard rc == 0 else { throw NSError(domain: "bind", code: Int(errno)) }
        var tv = timeval(tv_sec: 2, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
    }
    deinit {
        close(fd)
        if !address.hasPrefix("@") { unlink(address) }
    }
    func receive() -> String? {
        var buf = [UInt8](repeating: 0, count: 4096)
        let n = recv(fd, &buf, buf.count, 0)
        return n < 0 ? nil : String(decoding: buf[0..<n], as: UTF8.self)
    }
}

final class BlockingReader: WindowReader, @unchecked Sendable {
    let isLive = true
    func next() async throws -> MediaWindow? {
        try await Task.sleep(for: .seconds(3600))
        return nil
    }
    func cancel() {}
}

final class SystemdTests: XCTestCase {
    func testReadyWatchdogStoppingOverPathSocket() throws {
        let sock = try NotifySocket(abstract: false)
        let n = SystemdNotifier(environment: ["NOTIFY_SOCKET": sock.address, "WATCHDOG_USEC": "10000000", "WATCHDOG_PID": "\(getpid())"])
        XCTAssertEqual(n.watchdogUsec, 10_000_000)
        try n.ready(status: "serving 1 stream(s)")
        XCTAssertEqual(sock.receive(), "READY=1\nSTATUS=serving 1 stream(s)\n")
        try n.watchdog()
        XCTAssertEqual(sock.receive(), "WATCHDOG=1\n")
        try n.stopping()
        XCTAssertEqual(sock.receive(), "STOPPING=1\n")
    }

    func testAbstractNamespaceSocket() throws {
        let sock = try NotifySocket(abstract: true)
        let n = SystemdNotifier(environment: ["NOTIFY_SOCKET": sock.address])
        try n.ready()
        XCTAssertEqual(sock.receive(), "READY=1\n")
        XCTAssertNil(n.watchdogUsec)
    }

    func testNoNotifySocketIsANoOpAndWatchdogPidMustMatch() throws {
        XCTAssertNoThrow(try SystemdNotifier(environment: [:]).ready())
        XCTAssertNil(SystemdNotifier(environment: ["WATCHDOG_USEC": "1000", "WATCHDOG_PID": "1"], pid: 2).watchdogUsec)
        XCTAssertThrowsError(try SystemdNotifier(environment: ["NOTIFY_SOCKET": "/nonexistent/notify"]).ready()) { e in
            XCTAssertTrue("\(e)".contains("/nonexistent/notify"))
        }
    }

    func testListenFDsOnlyForThisPid() {
        XCTAssertEqual(ListenFDs.inherited(environment: ["LISTEN_PID": "42", "LISTEN_FDS": "1"], pid: 42), 3)
        XCTAssertNil(ListenFDs.inherited(environment: ["LISTEN_PID": "41", "LISTEN_FDS": "1"], pid: 42))
        XCTAssertNil(ListenFDs.inherited(environment: ["LISTEN_PID": "42", "LISTEN_FDS": "0"], pid: 42))
        XCTAssertNil(ListenFDs.inherited(environment: [:], pid: 42))
    }

    func testWatchdogBeatsWhileHealthyAndStopsWhenAStreamStalls() async throws {
        let sock = try NotifySocket(abstract: false)
        let notifier = SystemdNotifier(environment: ["NOTIFY_SOCKET": sock.address, "WATCHDOG_USEC": "20000000"])
        let path = NSTemporaryDirectory() + "wd-\(UUID().uuidString).sqlite"
        defer { for s in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + s) } }
        let store = try Store(path: path)
        struct Blocking: WindowReaderFactory {
            func open(_ s: StreamConfig, decodeThreads: Int) async throws -> any WindowReader { BlockingReader() }
        }
        let clock = ManualClock()
        let sup = Supervisor(daemon: DaemonConfig(), streams: [StreamConfig(id: "cam", source: "rtsp://cam")], store: store,
                             readers: Blocking(), encoders: RegistryEncoders.modelFree(), clock: clock, logger: quietLogger)
        let wd = WatchdogService(notifier: notifier, supervisor: sup, clock: clock, stallTimeoutMs: 60_000, logger: quietLogger)
        XCTAssertEqual(wd.intervalMs, 10_000, "half of WATCHDOG_USEC")
        let task = Task { try await sup.run() }
        for _ in 0..<500 where sup.runtimes.first?.snapshot.state != .running { try await Task.sleep(for: .milliseconds(5)) }
        XCTAssertEqual(sup.runtimes.first?.snapshot.state, .running)
        XCTAssertTrue(wd.beat())
        XCTAssertEqual(sock.receive(), "WATCHDOG=1\n")
        clock.now.withLock { $0 += 61_000 } // no window for 61 s
        XCTAssertEqual(sup.stalledStreams(nowMs: clock.nowMs(), stallMs: 60_000), ["cam"])
        XCTAssertFalse(wd.beat(), "a stalled pipeline withholds the heartbeat")
        task.cancel()
        _ = await task.result
    }

    /// Whether this process ignores or catches SIGHUP (its default action ends the process),
    /// from the process-wide masks in /proc/self/status.
    static func sighupIsHandled() -> Bool {
        let status = (try? String(contentsOfFile: "/proc/self/status", encoding: .utf8)) ?? ""
        func mask(_ name: String) -> UInt64 {
            status.split(separator: "\n").first { $0.hasPrefix(name + ":") }
                .flatMap { UInt64($0.dropFirst(name.count + 1).trimmingCharacters(in: .whitespaces), radix: 16) } ?? 0
        }
        let bit = UInt64(1) << UInt64(SIGHUP - 1)
        return (mask("SigIgn") | mask("SigCgt")) & bit != 0
    }

    func testSIGHUPIsTrappedBeforeReady() async throws {
        let tmp = try TemporaryDirectory(prefix: "runner")
        try FileManager.default.createDirectory(atPath: tmp.path("streams"), withIntermediateDirectories: true)
        var daemon = DaemonConfig()
        daemon.paths.stateDir = tmp.path("state")
        daemon.paths.streamsDir = tmp.path("streams")
        daemon.socket.group = ""
        daemon.access.allowedGroups = []
        let sock = try NotifySocket(abstract: false)
        let runner = DaemonRunner(configuration: Configuration(daemon: daemon, streams: []), socketOverride: tmp.path("api.sock"),
                                  notifier: SystemdNotifier(environment: ["NOTIFY_SOCKET": sock.address]),
                                  logger: quietLogger, version: "test")
        XCTAssertFalse(Self.sighupIsHandled(), "nothing in this test process traps SIGHUP before the daemon starts")
        let task = Task { try await runner.run() }
        var received = ""
        for _ in 0..<15 where !received.contains("READY=1") { received += sock.receive() ?? "" }
        // Checked as soon as READY=1 arrives: a `systemctl reload` from here on must not kill the daemon.
        let handled = Self.sighupIsHandled()
        XCTAssertTrue(received.contains("READY=1"), received)
        XCTAssertTrue(handled, "SIGHUP is trapped when READY=1 is sent")
        task.cancel()
        _ = try? await task.value
    }

    // MARK: - Log lines for journald

    func testLogLinesCarryJournalPrioritiesAndNoCredentials() {
        let at = Date(timeIntervalSince1970: 1_764_669_600.25)
        let metadata: Logger.Metadata = ["stream.id": "cam", "error": "cannot open 'rtsp://admin:s3cret@cam/1': refused\nretrying"]
        XCTAssertEqual(DaemonLogHandler.format(level: .error, label: "sightline", message: "stream down; reconnecting",
                                               metadata: metadata, journal: true, at: at),
                       "<3>sightline: stream down; reconnecting error=\"cannot open 'rtsp://***@cam/1': refused\\nretrying\" stream.id=cam\n")
        XCTAssertEqual(DaemonLogHandler.format(level: .info, label: "sightline", message: "ready", metadata: [:], journal: true, at: at),
                       "<6>sightline: ready\n")
        XCTAssertEqual(DaemonLogHandler.format(level: .warning, label: "sightline", message: "open rtsp://u:p@h/x", metadata: [:],
                                               journal: false, at: at),
                       "2025-12-02T10:00:00.250Z warning sightline: open rtsp://***@h/x\n")
        XCTAssertEqual([Logger.Level.trace, .debug, .info, .notice, .warning, .error, .critical].map(DaemonLogHandler.priority),
                       [7, 7, 6, 5, 4, 3, 2])
    }

    func testJournalIsDetectedOnlyWhenJOURNAL_STREAMNamesStderrsFile() throws {
        let tmp = try TemporaryDirectory(prefix: "journal")
        let fd = open(tmp.path("stream"), O_CREAT | O_WRONLY, 0o600)
        defer { close(fd) }
        var st = stat()
        XCTAssertEqual(fstat(fd, &st), 0)
        let same = "\(st.st_dev):\(st.st_ino)"
        XCTAssertTrue(DaemonLogHandler.stderrIsJournal(environment: ["JOURNAL_STREAM": same], descriptor: fd))
        XCTAssertFalse(DaemonLogHandler.stderrIsJournal(environment: ["JOURNAL_STREAM": "\(st.st_dev):\(st.st_ino + 1)"], descriptor: fd))
        XCTAssertFalse(DaemonLogHandler.stderrIsJournal(environment: [:], descriptor: fd))
        XCTAssertFalse(DaemonLogHandler.stderrIsJournal(environment: ["JOURNAL_STREAM": "garbage"], descriptor: fd))
    }

    func testCredentialsOfAFailingCameraAppearNowhere() async throws {
        let path = NSTemporaryDirectory() + "cred-\(UUID().uuidString).sqlite"
        defer { for s in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + s) } }
        let store = try Store(path: path)
        let lines = LogLines()
        var logger = Logger(label: "sightline") { label in DaemonLogHandler(label: label, journal: true, write: lines.append) }
        logger.logLevel = .debug
        let source = "rtsp://admin:s3cret@127.0.0.1:9/stream1"
        let factory = FlakyFactory(failures: 2, windows: [])
        factory.error = .cannotOpen(input: source, FFmpegFailure(function: "avformat_open_input", code: -111, message: "Connection refused"))
        let p = Pipeline(config: StreamConfig(id: "door", source: source), store: store, readers: factory, encoders: [],
                         clock: ManualClock(), logger: logger, queueCapacity: 2, decodeThreads: 1, random: { 0.5 })
        await p.run()
        let status = p.runtime.status(nowMs: 0)
        let events = try store.events(afterId: 0, limit: 10).map { try EventCoding.encode($0) }
        let stored = try store.read("sources") { db in try String.fetchAll(db, sql: "SELECT source FROM streams") }
        let everything = [status.source, status.lastError ?? ""] + events + stored + lines.all
        XCTAssertEqual(status.source, "rtsp://***@127.0.0.1:9/stream1")
        XCTAssertTrue(events.contains { $0.contains("cannot open 'rtsp://***@127.0.0.1:9/stream1'") }, "\(events)")
        XCTAssertTrue(lines.all.contains { $0.hasPrefix("<4>sightline: stream down; reconnecting") && $0.contains("rtsp://***@127.0.0.1:9") },
                      "\(lines.all)")
        XCTAssertGreaterThanOrEqual(lines.all.count, 2, "the reconnects were logged")
        XCTAssertGreaterThanOrEqual(events.count, 2, "the state changes were stored")
        for text in everything { XCTAssertFalse(text.contains("s3cret") || text.contains("admin"), text) }
    }
}

final class InstanceLockTests: XCTestCase {
    func testASecondHolderIsRefusedWithTheFirstOnesPid() throws {
        let tmp = try TemporaryDirectory(prefix: "lock")
        let path = tmp.path("sightline.sqlite.lock")
        var first: InstanceLock? = try InstanceLock(path: path)
        XCTAssertThrowsError(try InstanceLock(path: path)) { error in
            XCTAssertEqual(error as? DaemonError, .alreadyRunning(lock: path, pid: getpid()))
            XCTAssertTrue("\(error)".hasPrefix("another sightline serve (pid \(getpid())) already uses this store"), "\(error)")
        }
        XCTAssertNotNil(first)
        first = nil // released with its descriptor, as at process exit
        XCTAssertNoThrow(try InstanceLock(path: path))
    }
}

/// Log lines collected in memory.
final class LogLines: Sendable {
    private let lines = Mutex<[String]>([])
    var all: [String] { lines.withLock { $0 } }
    var append: @Sendable (String) -> Void { { [self] line in self.lines.withLock { $0.append(line) } } }
}
