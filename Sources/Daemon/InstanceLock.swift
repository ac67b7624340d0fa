// One daemon per store: `sightline serve` takes an exclusive flock(2) on `<store>.lock`
// before it opens the database, and keeps it until the process ends (the kernel drops it
// then, even after SIGKILL, so a crash never leaves a stale lock). A second daemon on the
// same store stops with an error naming the first one's pid, instead of writing beside it.
// (The socket has its own guard: APIServer refuses to replace a socket that answers.)
import Foundation
#if canImport(Glibc)
import Glibc
#endif

public final class InstanceLock: Sendable {
    public let path: String
    private let fd: Int32

    /// Takes the lock or throws `DaemonError.alreadyRunning` (or `.cannotLock`).
    public init(path: String) throws {
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o640)
        guard fd >= 0 else { throw DaemonError.cannotLock(path: path, reason: String(cString: strerror(errno))) }
        if flock(fd, LOCK_EX | LOCK_NB) != 0 {
            let code = errno
            var buffer = [UInt8](repeating: 0, count: 32)
            let n = read(fd, &buffer, buffer.count)
            close(fd)
            guard code == EWOULDBLOCK else { throw DaemonError.cannotLock(path: path, reason: String(cString: strerror(code))) }
            let pid = Int32(String(decoding: buffer[0..<max(0, n)], as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines))
            throw DaemonError.alreadyRunning(lock: path, pid: pid)
        }
        // The holder's pid, for the message a second daemon prints.
        let text = Array("\(getpid())\n".utf8)
        _ = ftruncate(fd, 0)
        _ = text.withUnsafeBytes { pwrite(fd, $0.baseAddress, text.count, 0) }
        self.path = path
        self.fd = fd
    }

    deinit { close(fd) }
}
