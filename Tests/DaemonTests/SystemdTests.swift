// The sd_notify protocol against a real datagram socket (path and abstract namespace),
// socket-activation variables, and the watchdog that stops beating when a stream stalls.
import Foundation
import Logging
import MediaIO
import Synchronization
import XCTest
@testable import Daemon
import SightlineCore
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
}
