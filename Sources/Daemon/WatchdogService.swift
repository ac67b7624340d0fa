// Feeds systemd's watchdog (WATCHDOG=1 at half of WATCHDOG_USEC) while the daemon makes
// progress. When a running stream stalls (no window committed for `stallTimeoutMs`) the
// heartbeat stops, so systemd restarts the daemon — a hung decoder or encoder is recovered
// instead of silently recording nothing.
import Logging
import SightlineCore
import ServiceLifecycle

public struct WatchdogService: Service {
    let notifier: SystemdNotifier
    let supervisor: Supervisor
    let clock: any DaemonClock
    let stallTimeoutMs: Int64
    let logger: Logger

    public init(notifier: SystemdNotifier, supervisor: Supervisor, clock: any DaemonClock, stallTimeoutMs: Int64, logger: Logger) {
        self.notifier = notifier
        self.supervisor = supervisor
        self.clock = clock
        self.stallTimeoutMs = stallTimeoutMs
        self.logger = logger
    }

    /// Interval between heartbeats, or nil when systemd asked for no watchdog.
    public var intervalMs: Int64? { notifier.watchdogUsec.map { max(1, Int64($0 / 2000)) } }

    /// One heartbeat decision: sends WATCHDOG=1 unless a stream is stalled; returns whether it sent.
    @discardableResult
    public func beat() -> Bool {
        let stalled = supervisor.stalledStreams(nowMs: clock.nowMs(), stallMs: stallTimeoutMs)
        if !stalled.isEmpty {
            logger.error("pipelines stalled; withholding the watchdog heartbeat", metadata: ["streams": "\(stalled)"])
            return false
        }
        do { try notifier.watchdog() } catch { logger.warning("watchdog notify failed", metadata: ["error": "\(error)"]) }
        return true
    }

    public func run() async throws {
        guard let interval = intervalMs else {
            try? await gracefulShutdown()
            return
        }
        // The sleep is cancelled on graceful shutdown, which ends the loop.
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
            beat()
                do { try await clock.sleep(ms: interval) } catch { return }
            }
        }
    }
}
