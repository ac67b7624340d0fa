// The sd_notify protocol without libsystemd: one datagram of "KEY=VALUE\n" lines to the
// AF_UNIX socket named by $NOTIFY_SOCKET (a path, or "@name" for the abstract namespace).
// Used for READY=1, STATUS=, WATCHDOG=1 and STOPPING=1. Without $NOTIFY_SOCKET (not run by
// systemd) every call is a no-op.
import Foundation
#if canImport(Glibc)
import Glibc
#endif

public struct SystemdNotifier: Sendable {
    /// The socket address, nil when not supervised.
    public let socketPath: String?
    /// Watchdog interval requested by the unit (WatchdogSec=), if it applies to this process.
    public let watchdogUsec: UInt64?

    public init(environment: [String: String] = ProcessInfo.processInfo.environment, pid: Int32 = getpid()) {
        socketPath = environment["NOTIFY_SOCKET"].flatMap { $0.isEmpty ? nil : $0 }
        if let usec = environment["WATCHDOG_USEC"].flatMap(UInt64.init), usec > 0,
           environment["WATCHDOG_PID"].flatMap(Int32.init).map({ $0 == pid }) ?? true
        {
            watchdogUsec = usec
        } else {
            watchdogUsec = nil
        }
    }

    public func ready(status: String? = nil) throws { try send(["READY=1", status.map { "STATUS=\($0)" }].compactMap { $0 }) }
    public func watchdog() throws { try send(["WATCHDOG=1"]) }
    public func stopping() throws { try send(["STOPPING=1"]) }
    public func reloading() throws { try send(["RELOADING=1"]) }
    public func status(_ text: String) throws { try send(["STATUS=\(text)"]) }

    public func send(_ lines: [String]) throws {
        guard let path = socketPath else { return }
        let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw NotifyError(path: path, call: "socket", errno: errno) }
        defer { close(fd) }
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        var bytes = Array(path.utf8)
        if bytes.first == UInt8(ascii: "@") { bytes[0] = 0 } // abstract namespace
        guard bytes.count < MemoryLayout.size(ofValue: addr.sun_path) else {
            throw NotifyError(path: path, call: "sockaddr", errno: ENAMETOOLONG)
        }
        withUnsafeMutableBytes(of: &addr.sun_path) { raw in for (i, b) in bytes.enumerated() { raw[i] = b } }
        // Abstract names are not NUL-terminated: the address length carries their size.
        let length = socklen_t(MemoryLayout<sa_family_t>.size + bytes.count + (bytes.first == 0 ? 0 : 1))
        let message = Array((lines.joined(separator: "\n") + "\n").utf8)
        let sent = withUnsafePointer(to: &addr) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) { sa in
                message.withUnsafeBytes { sendto(fd, $0.baseAddress, message.count, Int32(MSG_NOSIGNAL), sa, length) }
            }
        }
        if sent < 0 { throw NotifyError(path: path, call: "sendto", errno: errno) }
    }
}

public struct NotifyError: Error, Sendable, CustomStringConvertible {
    public var path: String
    public var call: String
    public var errno: Int32
    public var description: String {
        "systemd notify to '\(path)' failed in \(call): \(String(cString: strerror(errno))). Check NOTIFY_SOCKET, or run without Type=notify."
    }
}
