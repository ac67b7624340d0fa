// Real peers on loopback for tests of live inputs: the ffmpeg CLI serving a file as a live
// HTTP MPEG-TS stream, and a TCP listener that accepts connections but never answers.
import Foundation
#if canImport(Glibc)
import Glibc
#endif

public enum Loopback {
    /// A TCP port that was free a moment ago (bound to port 0, then released).
    public static func freePort() -> UInt16 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        addr.sin_port = 0
        _ = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) } }
        return UInt16(bigEndian: addr.sin_port)
    }
}

/// `ffmpeg -re -i FILE -c copy -f mpegts -listen 1 http://127.0.0.1:PORT/live.ts`: one client,
/// real-time pacing, as a camera or encoder on the network would send it.
public final class FFmpegHTTPStreamer {
    public let url: String
    private let process = Process()

    public init(file: String, loops: Int = 0) throws {
        let port = Loopback.freePort()
        url = "http://127.0.0.1:\(port)/live.ts"
        process.executableURL = URL(fileURLWithPath: "/usr/bin/ffmpeg")
        process.arguments = ["-hide_banner", "-loglevel", "error", "-re", "-stream_loop", String(loops),
                             "-i", file, "-c", "copy", "-f", "mpegts", "-listen", "1", url]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
    }

    /// Calls `open` until it stops failing (the server takes a moment to listen), at most
    /// `timeout` seconds. Probing with a bare TCP connect would use up `-listen 1`'s only client.
    public func whenListening<T>(timeout: TimeInterval = 10, _ open: () throws -> T) throws -> T {
        let deadline = Date().addingTimeInterval(timeout)
        while true {
            do { return try open() } catch {
                if Date() > deadline || !process.isRunning { throw error }
                usleep(100_000)
            }
        }
    }

    public func stop() {
        if process.isRunning { process.terminate() }
        process.waitUntilExit()
    }

    deinit { stop() }
}

/// Accepts TCP connections (the kernel completes the handshake from the backlog) but never
/// reads or writes: a peer that hangs, for read-timeout tests.
public final class SilentTCPServer {
    public let port: UInt16
    private let fd: Int32

    public init() {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        addr.sin_port = 0
        _ = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        listen(fd, 8)
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) } }
        self.fd = fd
        port = UInt16(bigEndian: addr.sin_port)
    }

    deinit { close(fd) }
}
