// Runs one Pipeline per enabled stream as child tasks, reloads the streams folder on
// SIGHUP (only changed streams restart, the old pipeline ended before the new one opens
// the source; the others keep running), and on graceful shutdown stops every pipeline
// (each drains its queue until its deadline) before returning.
import Foundation
import Logging
import Modalities
import Retrieval
import SightlineCore
import ServiceLifecycle
import Store
import Synchronization

public final class Supervisor: Service, Sendable {
    let store: Store
    let readers: any WindowReaderFactory
    let encoders: any EncoderFactory
    let clock: any DaemonClock
    let logger: Logger
    let daemon: DaemonConfig
    let backoff: Backoff
    /// Shared by every pipeline: thins picture modalities while a live stream is late.
    let scheduler: ComputeScheduler
    /// Run after every committed window of every stream (the fusion index).
    let sinks: [any WindowSink]
    /// Scores every stream's standing queries (full text when nil).
    let queryScorer: (any WindowQueryScorer)?
    /// Streams by id with their pipelines; the API reads it for status.
    private let pipelines = Mutex<[String: Pipeline]>([:])
    private let configs = Mutex<[StreamConfig]>([])
    private let reloadRequests: AsyncStream<Void>
    private let reloadContinuation: AsyncStream<Void>.Continuation
    private let reloads = Mutex(ReloadCounts())

    /// Reloads handled so far: applied, or refused because the folder did not load.
    public struct ReloadCounts: Sendable, Equatable {
        public var applied = 0
        public var failed = 0
    }

    public init(daemon: DaemonConfig, streams: [StreamConfig], store: Store, readers: any WindowReaderFactory,
                encoders: any EncoderFactory, clock: any DaemonClock, logger: Logger, backoff: Backoff = Backoff(),
                sinks: [any WindowSink] = [], queryScorer: (any WindowQueryScorer)? = nil)
    {
        self.sinks = sinks
        self.queryScorer = queryScorer
        self.daemon = daemon
        self.store = store
        self.readers = readers
        self.encoders = encoders
        self.clock = clock
        self.logger = logger
        self.backoff = backoff
        self.scheduler = ComputeScheduler(lagBudgetMs: daemon.scheduler.lagBudgetMs)
        self.configs.withLock { $0 = streams }
        (reloadRequests, reloadContinuation) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
    }

    public var runtimes: [StreamRuntime] {
        let p = pipelines.withLock { $0 }
        return configs.withLock { $0 }.map { c in
            p[c.id]?.runtime ?? {
                let r = StreamRuntime(id: c.id, source: c.source, nowMs: 0)
                r.update { $0.state = .disabled }
                return r
            }()
        }
    }

    /// Per running stream, utterances its speech encoder heard but could not put into words
    /// (UnrecognizedSpeechCounting; starts again at 0 when the stream is restarted).
    public var speechUnrecognized: [(stream: String, count: Int)] {
        pipelines.withLock { Array($0.values) }.sorted { $0.config.id < $1.config.id }.compactMap { p in
            let speech = p.encoders.compactMap { $0 as? any UnrecognizedSpeechCounting }
            return speech.isEmpty ? nil : (p.config.id, speech.reduce(0) { $0 + $1.unrecognizedCount })
        }
    }

    /// The streams as last loaded (at start-up or by the last successful reload), with their
    /// own settings: what retention sweeps.
    public var streamConfigs: [StreamConfig] { configs.withLock { $0 } }

    public var reloadCounts: ReloadCounts { reloads.withLock { $0 } }

    /// Re-reads the streams folder at the next opportunity (SIGHUP).
    public func requestReload() { reloadContinuation.yield() }

    public func run() async throws {
        await withGracefulShutdownHandler {
            await withTaskGroup(of: Void.self) { group in
                for c in configs.withLock({ $0 }) where c.enabled { start(c, in: &group) }
                group.addTask { [self] in await self.watchReloads() }
                // Ends when every pipeline has ended and the reload watcher was finished.
                for await _ in group {}
            }
        } onGracefulShutdown: { [self] in
            reloadContinuation.finish()
            let all = pipelines.withLock { Array($0.values) }
            Task { for p in all { await p.stop() } }
        }
    }

    private func start(_ c: StreamConfig, in group: inout TaskGroup<Void>) {
        let p = makePipeline(c)
        pipelines.withLock { $0[c.id] = p }
        group.addTask { await p.run() }
    }

    func makePipeline(_ c: StreamConfig) -> Pipeline {
        let encs: [any WindowEncoder]
        do { encs = try encoders.makeEncoders(for: c) } catch {
            logger.error("cannot build encoders; storing windows without evidence",
                         metadata: ["stream.id": "\(c.id)", "error": "\(Credentials.redact("\(error)"))"])
            encs = []
        }
        let enrichers: [any EvidenceEnricher]
        do { enrichers = try encoders.makeEnrichers() } catch {
            logger.error("cannot load the enrichers; storing evidence without them", metadata: ["stream.id": "\(c.id)", "error": "\(error)"])
            enrichers = []
        }
        // Streams that look at the picture get timeline captions, then the daemon-wide sinks (fusion).
        let captions: [any WindowSink] = encs.contains { $0.input.video != nil } ? [CaptionSink(streamId: c.id, store: store)] : []
        return Pipeline(config: c, store: store, readers: readers, encoders: encs, enrichers: enrichers, sinks: captions + sinks,
                        queryScorer: queryScorer,
                        scheduler: scheduler,
                        clock: clock, logger: logger,
                        queueCapacity: daemon.limits.queueWindows, decodeThreads: daemon.threads.decode, backoff: backoff)
    }

    /// Applies reloads: stops removed or changed streams, starts new or changed ones.
    private func watchReloads() async {
        await withTaskGroup(of: Void.self) { group in
            for await _ in reloadRequests {
                let fresh: [StreamConfig]
                do { fresh = try Configuration.loadStreams(directory: daemon.streamsDirectory) } catch {
                    logger.error("reload failed; keeping the running streams", metadata: ["error": "\(Credentials.redact("\(error)"))"])
                    reloads.withLock { $0.failed += 1 }
                    continue
                }
                let old = Dictionary(configs.withLock { $0 }.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
                let new = Dictionary(fresh.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
                // A changed stream's old pipeline must have ended (source closed, queue drained,
                // last commit done) before its new one opens the same source: cameras limit
                // sessions, and two writers of one stream would interleave windows.
                for (id, c) in old where new[id] != c {
                    if let p = pipelines.withLock({ $0.removeValue(forKey: id) }) {
                        await p.stop()
                        await p.waitUntilFinished()
                    }
                    scheduler.remove(stream: id)
                    logger.info("stream stopped by reload", metadata: ["stream.id": "\(c.id)"])
                }
                configs.withLock { $0 = fresh }
                for c in fresh where old[c.id] != c && c.enabled {
                    start(c, in: &group)
                    logger.info("stream started by reload", metadata: ["stream.id": "\(c.id)"])
                }
                reloads.withLock { $0.applied += 1 }
            }
            for p in pipelines.withLock({ Array($0.values) }) { await p.stop() }
        }
    }

    /// True when some running stream has made no progress for `stallMs` (the watchdog stops
    /// feeding systemd then). Reconnecting streams are not stalled: they are being handled.
    public func stalledStreams(nowMs: Int64, stallMs: Int64) -> [String] {
        pipelines.withLock { Array($0.values) }.compactMap { p in
            let s = p.runtime.snapshot
            return s.state == .running && nowMs - s.lastProgressMs > stallMs ? p.config.id : nil
        }
    }
}
