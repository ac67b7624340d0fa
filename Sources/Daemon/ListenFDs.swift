// systemd socket activation: sockets passed as fds 3... when $LISTEN_PID is this process
// (LISTEN_FDS = how many). Only the first is used: sightline.socket declares one.
import Foundation
#if canImport(Glibc)
import Glibc
#endif

public enum ListenFDs {
    public static let firstDescriptor: CInt = 3

    /// The inherited listening socket, or nil when not socket-activated.
    public static func inherited(environment: [String: String] = ProcessInfo.processInfo.environment,
                                 pid: Int32 = getpid()) -> CInt?
    {
        guard let listenPid = environment["LISTEN_PID"].flatMap(Int32.init), listenPid == pid,
              let count = environment["LISTEN_FDS"].flatMap(Int.init), count >= 1 else { return nil }
        return firstDescriptor
    }

    /// The variables must not leak to child processes (ffmpeg helpers): unset them once read.
    public static func clearEnvironment() {
        unsetenv("LISTEN_PID")
        unsetenv("LISTEN_FDS")
        unsetenv("LISTEN_FDNAMES")
    }
}
