// Applies every stream's retention (its own or the daemon default) every
// `store.retention_interval`, including streams no longer configured (their data ages out
// under the default policy); events age out under the default maximum age.
import Logging
import SightlineCore
import ServiceLifecycle
import Store

public struct RetentionService: Service {
    let store: Store
    let defaults: RetentionPolicy
    let streams: @Sendable () -> [StreamConfig]
    let intervalMs: Int64
    let clock: any DaemonClock
    let logger: Logger

    public init(store: Store, defaults: RetentionPolicy, streams: @escaping @Sendable () -> [StreamConfig], intervalMs: Int64,
                clock: any DaemonClock, logger: Logger)
    {
        self.store = store
        self.defaults = defaults
        self.streams = streams
        self.intervalMs = intervalMs
        self.clock = clock
        self.logger = logger
    }

    /// Retention over the supervisor's current streams: a stream added or changed by a
    /// reload is swept with its own settings from then on.
    public init(store: Store, defaults: RetentionPolicy, supervisor: Supervisor, intervalMs: Int64, clock: any DaemonClock,
                logger: Logger)
    {
        self.init(store: store, defaults: defaults, streams: { supervisor.streamConfigs }, intervalMs: intervalMs, clock: clock,
                  logger: logger)
    }

    /// One pass over all streams that have data; returns windows deleted per stream.
    @discardableResult
    public func sweep() -> [String: Int] {
        let configured = Dictionary(streams().map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
        var deleted: [String: Int] = [:]
        let now = clock.nowMs()
        for id in ((try? store.totals()) ?? [:]).keys.sorted() {
            let own = configured[id]?.retention ?? RetentionPolicy()
            let policy = RetentionPolicy(maxAgeMs: own.maxAgeMs ?? defaults.maxAgeMs, maxBytes: own.maxBytes ?? defaults.maxBytes)
            do {
                let n = try store.enforceRetention(stream: id, policy: policy, nowMs: now)
                if n > 0 {
                    deleted[id] = n
                    logger.info("retention removed windows", metadata: ["stream.id": "\(id)", "windows": "\(n)"])
                }
            } catch {
                logger.error("retention failed", metadata: ["stream.id": "\(id)", "error": "\(error)"])
            }
        }
        // Events (stream up/down, matches) age out with the default retention.
        var pruned = 0
        if let maxAge = defaults.maxAgeMs {
            do { pruned = try store.pruneEvents(olderThanMs: maxAge, nowMs: now) } catch {
                logger.error("event retention failed", metadata: ["error": "\(error)"])
            }
        }
        // A purge writes its deletions to the WAL: copy them into the database and truncate
        // the log, so the files shrink back instead of staying at their largest.
        if !deleted.isEmpty || pruned > 0 {
            do { try store.checkpoint() } catch { logger.warning("checkpoint after retention failed", metadata: ["error": "\(error)"]) }
        }
        return deleted
    }

    public func run() async throws {
        // The sleep is cancelled on graceful shutdown, which ends the loop.
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                // Deleting a day of windows takes SQLite seconds: off the cooperative pool.
                _ = await BlockingExecutor.storage.run { sweep() }
                do { try await clock.sleep(ms: intervalMs) } catch { return }
            }
        }
    }
}
