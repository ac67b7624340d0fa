// Time as the daemon sees it, injected so tests run backoff, pacing, stall detection and
// retention without real sleeps.
import Foundation

public protocol DaemonClock: Sendable {
    /// Wall-clock Unix epoch milliseconds.
    func nowMs() -> Int64
    func sleep(ms: Int64) async throws
}

public struct WallClock: DaemonClock {
    public init() {}
    public func nowMs() -> Int64 { Int64((Date().timeIntervalSince1970 * 1000).rounded()) }
    public func sleep(ms: Int64) async throws {
        if ms > 0 { try await Task.sleep(for: .milliseconds(ms)) }
    }
}
