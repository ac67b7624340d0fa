// One stream's pipeline: open the source → windows into a bounded queue → encoders (on the
// compute executor) → enrichers → one WindowRecord per window committed to the store
// together with the occurrence events of the stream's standing queries (one transaction) →
// window sinks (captions, fusion), which settle their state when the run ends.
// When a reader ends (a file's end, a live source dropping, a stop), the encoders give what
// they still hold (the speech transcriber's last utterance), which is enriched and added to
// the last committed window before the sinks settle, so a file's last sentence is kept
// even when no silence follows it.
// Stopping (SIGTERM, or a reload that changed the stream) interrupts the open of the source
// and the reconnect back-off at once, lets the encoders work through the windows already
// queued until a drain deadline, and logs how many were left.
// Failures of the source are retried with exponential backoff (Backoff); only inputs that
// can never work (a missing local file, an unsupported codec) end in `failed`. A pipeline
// touches nothing but its own stream, so a failing stream never disturbs the others.
import Foundation
import Logging
import MediaIO
import Retrieval
import SightlineCore
import Store
import Synchronization

public final class Pipeline: Sendable {
    public let config: StreamConfig
    public let runtime: StreamRuntime
    let store: Store
    let readers: any WindowReaderFactory
    let encoders: [any WindowEncoder]
    let enrichers: [any EvidenceEnricher]
    /// Raises occurrence events for the stream's standing queries and the API's subscriptions,
    /// inside each window's own transaction.
    let matcher: StandingQueryMatcher
    let sinks: [any WindowSink]
    /// Thins picture modalities while some live stream is late.
    let scheduler: ComputeScheduler
    let inputs = WindowInputs()
    let clock: any DaemonClock
    let logger: Logger
    let queueCapacity: Int
    let decodeThreads: Int
    let backoff: Backoff
    let random: @Sendable () -> Double
    /// Set by stop(): drain the queue until the deadline, then end.
    private struct StopState {
        var stopping = false
        var drainUntilMs = Int64.max
        /// Cancels what the pipeline is waiting for right now (an open, a back-off sleep).
        var interrupt: (@Sendable () -> Void)?
    }
    private let stopState = Mutex(StopState())
    /// Set when run() has returned; tasks waiting in waitUntilFinished().
    private let finished = Mutex<(done: Bool, waiters: [CheckedContinuation<Void, Never>])>((false, []))
    private let currentReader = Mutex<(any WindowReader)?>(nil)
    private let currentQueue = Mutex<WindowQueue?>(nil)

    /// A pipeline for `config`; its standing queries are matched in each window's transaction
    /// (scored by `queryScorer`, full text when nil), `sinks` run after the commit.
    public init(config: StreamConfig, store: Store, readers: any WindowReaderFactory, encoders: [any WindowEncoder],
                enrichers: [any EvidenceEnricher] = [], sinks: [any WindowSink] = [], queryScorer: (any WindowQueryScorer)? = nil,
                scheduler: ComputeScheduler = ComputeScheduler(), clock: any DaemonClock, logger: Logger, queueCapacity: Int, decodeThreads: Int,
                backoff: Backoff = Backoff(), random: @escaping @Sendable () -> Double = { Double.random(in: 0..<1) })
    {
        self.config = config
        self.store = store
        self.readers = readers
        self.encoders = encoders
        self.enrichers = enrichers
        self.matcher = StandingQueryMatcher(streamId: config.id, queries: config.queries, store: store, scorer: queryScorer)
        self.sinks = sinks
        self.scheduler = scheduler
        self.clock = clock
        var l = logger
        l[metadataKey: "stream.id"] = "\(config.id)"
        self.logger = l
        self.queueCapacity = queueCapacity
        self.decodeThreads = decodeThreads
        self.backoff = backoff
        self.random = random
        self.runtime = StreamRuntime(id: config.id, source: config.source, nowMs: clock.nowMs())
        for case let b as any Backlogged in encoders { runtime.follow(b.name) { b.analysedEndMs } }
    }

    var isStopping: Bool { stopState.withLock { $0.stopping } }

    /// Longest single sleep of realtime pacing.
    static let pacingSliceMs: Int64 = 250

    /// How long a stopping pipeline keeps starting on the windows already queued (measured
    /// from stop()). The window in flight at the deadline still finishes — Whisper on a 28 s
    /// utterance takes a few seconds on two cores — so with it the stop stays inside the
    /// unit's TimeoutStopSec (30 s). Were systemd to kill the daemon anyway, it would lose
    /// only uncommitted windows: each commit is one transaction.
    public static let shutdownDrainMs: Int64 = 15_000

    /// Asks the pipeline to end: an open of the source or a back-off sleep is interrupted,
    /// the source is closed, the windows already queued are encoded and committed until
    /// `drainMs` have passed (the rest are counted in `windowsAbandoned` and logged), and
    /// run() returns.
    public func stop(drainMs: Int64 = Pipeline.shutdownDrainMs) async {
        let now = clock.nowMs()
        let interrupt = stopState.withLock { s -> (@Sendable () -> Void)? in
            if !s.stopping {
                s.stopping = true
                s.drainUntilMs = now.addingReportingOverflow(max(0, drainMs)).overflow ? .max : now + max(0, drainMs)
            }
            defer { s.interrupt = nil }
            return s.interrupt
        }
        interrupt?()
        currentReader.withLock { $0?.cancel() }
        if let q = currentQueue.withLock({ $0 }) { await q.finish() }
    }

    var pastDrainDeadline: Bool {
        let until = stopState.withLock { $0.stopping ? $0.drainUntilMs : Int64.max }
        return clock.nowMs() > until
    }

    /// Runs `body` so that stop() cancels it: an open that may block for the connect timeout,
    /// or a back-off sleep of up to a minute, must not hold up SIGTERM.
    func interruptible<T: Sendable>(_ body: @escaping @Sendable () async throws -> T) async throws -> T {
        let task = Task { try await body() }
        let registered = stopState.withLock { s -> Bool in
            guard !s.stopping else { return false }
            s.interrupt = { task.cancel() }
            return true
        }
        if !registered { task.cancel() }
        defer { stopState.withLock { $0.interrupt = nil } }
        return try await withTaskCancellationHandler { try await task.value } onCancel: { task.cancel() }
    }

    /// Runs until the input ends (files), the pipeline is stopped, or the task is cancelled.
    public func run() async {
        await ingest()
        // No more windows from this run: sinks settle what they hold (a caption's open segment).
        for sink in sinks {
            do { try await BlockingExecutor.storage.run { try await sink.streamEnded() } } catch {
                runtime.update { $0.encoderErrors += 1 }
                logger.warning("stage failed at the stream's end", metadata: ["stage": "\(sink.name)", "error": "\(error)"])
            }
        }
        let waiters = finished.withLock { f -> [CheckedContinuation<Void, Never>] in
            f.done = true
            defer { f.waiters = [] }
            return f.waiters
        }
        for w in waiters { w.resume() }
    }

    /// Returns once run() has returned (at once if it has).
    public func waitUntilFinished() async {
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            let done = finished.withLock { f -> Bool in
                if !f.done { f.waiters.append(c) }
                return f.done
            }
            if done { c.resume() }
        }
    }

    private func ingest() async {
        var attempt = 0
        try? store.upsertStream(id: config.id, source: Credentials.redact(config.source), nowMs: clock.nowMs())
        setState(.starting, error: nil)
        while !isStopping, !Task.isCancelled {
            do {
                let reader = try await interruptible { [readers, config, decodeThreads] in
                    try await readers.open(config, decodeThreads: decodeThreads)
                }
                currentReader.withLock { $0 = reader }
                if isStopping { reader.cancel() }
                let live = reader.isLive
                runtime.update { $0.epochTimes = live || self.config.realtime }
                setState(.running, error: nil)
                let committed = try await pump(reader, live: live)
                currentReader.withLock { $0 = nil }
                if committed > 0 { attempt = 0 }
                if isStopping { break }
                if live {
                    throw PipelineError.sourceEnded(config.source)
                }
                if config.loop { continue }
                setState(.finished, error: nil)
                return
            } catch {
                currentReader.withLock { $0 = nil }
                if isStopping || Task.isCancelled { break }
                let message = Credentials.redact("\(error)")
                if Self.isPermanent(error, source: config.source) {
                    logger.error("stream failed permanently", metadata: ["error": "\(message)"])
                    setState(.failed, error: message)
                    return
                }
                let delay = backoff.delayMs(attempt: attempt, unit: random())
                attempt += 1
                runtime.update { $0.reconnects += 1 }
                logger.warning("stream down; reconnecting", metadata: ["error": "\(message)", "retry.delay_ms": "\(delay)"])
                setState(.reconnecting, error: message)
                do { try await interruptible { [clock] in try await clock.sleep(ms: delay) } } catch { break }
            }
        }
        setState(.stopped, error: runtime.snapshot.lastError)
    }

    /// Reads and encodes until the reader ends; returns the number of windows committed.
    func pump(_ reader: any WindowReader, live: Bool) async throws -> Int {
        let realtimeFile = config.realtime && !live
        let queue = WindowQueue(capacity: queueCapacity, mode: (live || realtimeFile) ? .thin : .backPressure)
        currentQueue.withLock { $0 = queue }
        defer { currentQueue.withLock { $0 = nil } }
        // Realtime files are anchored at the wall clock when opened, like a camera.
        let anchor = realtimeFile ? clock.nowMs() : 0
        let clock = self.clock
        return try await withThrowingTaskGroup(of: Int.self) { group in
            group.addTask {
                do {
                    // A file source may not notice cancel() until its next blocking read;
                    // checking here ends the loop at once.
                    while !self.isStopping, let w = try await reader.next() {
                        var window = w
                        if realtimeFile {
                            window.startMs += anchor
                            window.endMs += anchor
                            for i in window.frames.indices { window.frames[i].ptsMs += anchor }
                            // The window is complete at its end time; wait for it as a camera
                            // would, in short slices so that stop() is not held up by pacing.
                            var remaining = window.endMs - clock.nowMs()
                            while remaining > 0, !self.isStopping {
                                try await clock.sleep(ms: min(remaining, Self.pacingSliceMs))
                                remaining = window.endMs - clock.nowMs()
                            }
                        }
                        await queue.push(window)
                        let depth = await queue.depth
                        let dropped = await queue.windowsDropped
                        let thinned = await queue.framesThinned
                        self.runtime.update {
                            $0.queueDepth = depth
                            $0.windowsDropped = dropped
                            $0.framesThinned = thinned
                        }
                    }
                } catch {
                    // Let the encoder side drain and end before the error ends the group. A
                    // reader interrupted by stop() is no failure: the queue is drained.
                    await queue.finish()
                    if self.isStopping { return 0 }
                    throw error
                }
                await queue.finish()
                return 0
            }
            group.addTask {
                var committed = 0
                var last: CommittedWindow? = nil
                // After stop() the queue is finished: pop() hands out what is queued, then nil.
                while let window = await queue.pop() {
                    if self.pastDrainDeadline {
                        var left = 1
                        while await queue.pop() != nil { left += 1 }
                        let abandoned = left
                        self.runtime.update { $0.windowsAbandoned += abandoned }
                        self.logger.warning("stopping: queued windows not processed within the drain deadline",
                                            metadata: ["windows": "\(abandoned)", "drain_ms": "\(Self.shutdownDrainMs)"])
                        return committed
                    }
                    last = try await self.process(window)
                    committed += 1
                    let depth = await queue.depth
                    self.runtime.update { $0.queueDepth = depth }
                }
                if let last { try await self.finishEncoders(after: last) }
                return committed
            }
            var total = 0
            for try await n in group { total += n }
            return total
        }
    }

    /// Encodes one window with every encoder (costly picture modalities only as the scheduler
    /// admits them while a live stream is late), enriches and commits it, then hands it to the
    /// sinks. Encoders, enrichers and sinks that fail are logged and counted; the window is
    /// stored with the evidence the others produced. Model work and store writes run on
    /// their executors, never on Swift's cooperative pool.
    @discardableResult
    func process(_ window: MediaWindow) async throws -> CommittedWindow {
        let prepared = inputs.prepare(window, for: encoders.map(\.input))
        let startedMs = clock.nowMs()
        let live = runtime.snapshot.epochTimes
        if live {
            // Audio a backlogged encoder (packed speech) holds before this window, past its
            // planned delay, makes the stream that much later.
            let late = encoders.compactMap { e -> Int64? in
                guard let b = e as? any Backlogged, let end = b.analysedEndMs else { return nil }
                return max(0, window.startMs - end - Int64(b.plannedDelayMs))
            }.max() ?? 0
            scheduler.reportLag(stream: config.id, lagMs: max(0, startedMs - window.endMs) + late, nowMs: startedMs)
        }
        var evidence: [Evidence] = []
        for encoder in encoders {
            if live, encoder is any FrameSkipping {
                let last = runtime.snapshot.encodedEndMs[encoder.name]
                guard scheduler.admitsPicture(windowStartMs: window.startMs, lastAnalysedEndMs: last,
                                              keepAliveMs: config.visionKeepAliveMs, nowMs: startedMs) else {
                    runtime.update { $0.windowsShed[encoder.name, default: 0] += 1 }
                    continue
                }
            }
            let input = prepared[encoder.input] ?? window
            evidence += await timed(encoder.name, windowStartMs: window.startMs) {
                try await BlockingExecutor.compute.run { try await encoder.encode(input) }
            } ?? []
            runtime.update { $0.encodedEndMs[encoder.name] = window.endMs }
            if let skipping = encoder as? any FrameSkipping {
                runtime.update { $0.framesSkipped[encoder.name] = skipping.framesSkipped }
            }
        }
        evidence = await enriched(evidence, windowStartMs: window.startMs)
        let record = WindowRecord(streamId: config.id, startMs: window.startMs, endMs: window.endMs,
                                  frameCount: window.frames.count, audioSamples: window.audio.count, evidence: evidence)
        let now = clock.nowMs()
        let store = self.store
        let matcher = self.matcher
        let keyFrame: @Sendable () -> KeyFrame? = { Self.keyFrame(of: window) }
        let runtime = self.runtime
        let logger = self.logger
        // The window and its match events in one transaction: a crash keeps both or neither.
        // A failing match is logged and counted; the window is stored without its events.
        let commitStarted = ContinuousClock.now
        let windowId = try await BlockingExecutor.storage.run {
            do {
                return try store.append(record, committedMs: now) { id in
                    do { return try matcher.matches(CommittedWindow(id: id, record: record, committedMs: now), keyFrame: keyFrame) } catch {
                        runtime.update { $0.encoderErrors += 1 }
                        logger.warning("stage failed", metadata: ["stage": "\(matcher.name)", "window.start_ms": "\(record.startMs)",
                                                                  "error": "\(error)"])
                        return []
                    }
                }
            } catch {
                // Neither the window nor its events were stored: a scorer that read it forgets it.
                matcher.rolledBack()
                throw error
            }
        }
        let commitMs = Self.milliseconds(since: commitStarted)
        runtime.update {
            $0.windowsProcessed += 1
            $0.lastWindowEndMs = window.endMs
            $0.lastProgressMs = now
            $0.commitLongestMs = max($0.commitLongestMs, commitMs)
        }
        let committed = CommittedWindow(id: windowId, record: record, committedMs: now)
        for sink in sinks {
            _ = await timed(sink.name, windowStartMs: window.startMs) {
                try await BlockingExecutor.storage.run { try await sink.windowCommitted(committed) }
            }
        }
        return committed
    }

    /// The reader ended after `last` was committed: every encoder gives what it still holds
    /// (WindowEncoder.finish), the enrichers run over it, and it is added to `last` in the
    /// store and shown to the sinks. Failures are logged and counted like a window's; only a
    /// failing store write ends the run with an error, as a failing commit does.
    /// A stopping pipeline gives the encoders only what is left of its drain deadline: packed
    /// speech may first work through its queue, and the stop must stay inside the unit's
    /// TimeoutStopSec; what is not done by then is logged and left.
    func finishEncoders(after last: CommittedWindow) async throws {
        var evidence: [Evidence] = []
        for encoder in encoders {
            let finish: @Sendable () async throws -> [Evidence] = { try await BlockingExecutor.compute.run { try await encoder.finish() } }
            let drainUntil = stopState.withLock { $0.stopping ? $0.drainUntilMs : nil }
            evidence += await timed(encoder.name, windowStartMs: last.record.startMs) {
                guard let drainUntil else { return try await finish() }
                guard let held = try await Self.withinMs(drainUntil - self.clock.nowMs(), finish) else {
                    self.logger.warning("stopping: an encoder did not finish what it held within the drain deadline",
                                        metadata: ["stage": "\(encoder.name)", "drain_ms": "\(Self.shutdownDrainMs)"])
                    return []
                }
                return held
            } ?? []
        }
        guard !evidence.isEmpty else { return }
        let late = await enriched(evidence, windowStartMs: last.record.startMs)
        let store = self.store
        let streamId = config.id
        try await BlockingExecutor.storage.run { try store.addEvidence(late, toWindow: last.id, streamId: streamId) }
        var amended = last
        amended.record.evidence += late
        let shown = amended
        for sink in sinks {
            _ = await timed(sink.name, windowStartMs: last.record.startMs) {
                try await BlockingExecutor.storage.run { try await sink.evidenceAdded(late, to: shown) }
            }
        }
    }

    /// `evidence` after every enricher, in order; an enricher that fails leaves what it was given.
    private func enriched(_ evidence: [Evidence], windowStartMs: Int64) async -> [Evidence] {
        var evidence = evidence
        for enricher in enrichers {
            let before = evidence
            evidence = await timed(enricher.name, windowStartMs: windowStartMs) {
                try await BlockingExecutor.compute.run { try await enricher.enrich(before, streamId: self.config.id) }
            } ?? before
        }
        return evidence
    }

    /// `body`'s result, or nil when `ms` of real time pass first (`body` then runs on, unobserved).
    static func withinMs<T: Sendable>(_ ms: Int64, _ body: @escaping @Sendable () async throws -> T) async throws -> T? {
        guard ms > 0 else { return nil }
        let waiter = Mutex<CheckedContinuation<T?, any Error>?>(nil)
        let resume: @Sendable (Result<T?, any Error>) -> Void = { r in waiter.withLock { c in c?.resume(with: r); c = nil } }
        return try await withCheckedThrowingContinuation { (c: CheckedContinuation<T?, any Error>) in
            waiter.withLock { $0 = c }
            let timer = Task {
                try? await Task.sleep(for: .milliseconds(ms))
                resume(.success(nil))
            }
            Task {
                do { resume(.success(try await body())) } catch { resume(.failure(error)) }
                timer.cancel()
            }
        }
    }

    /// The JPEG of `window`'s middle frame, for an occurrence that begins in it; nil without frames.
    static func keyFrame(of window: MediaWindow) -> KeyFrame? {
        guard !window.frames.isEmpty else { return nil }
        var frame = window.frames[window.frames.count / 2]
        if frame.layout == .planarF32 {
            let plane = frame.width * frame.height
            guard frame.planar.count == plane * 3 else { return nil }
            var rgb = [UInt8](repeating: 0, count: plane * 3) // (height, width, 3)
            for i in 0..<plane {
                for c in 0..<3 { rgb[i * 3 + c] = UInt8(max(0, min(255, (frame.planar[c * plane + i] * 255).rounded()))) }
            }
            frame = VideoFrame(ptsMs: frame.ptsMs, width: frame.width, height: frame.height, layout: .rgb8, rgb: rgb)
        }
        guard let jpeg = try? JPEGEncoder.encode(frame) else { return nil }
        return KeyFrame(width: frame.width, height: frame.height, atMs: frame.ptsMs, base64: Data(jpeg).base64EncodedString())
    }

    /// Runs one stage (`name`) for the window starting at `windowStartMs`, adding its time to
    /// the stage's metrics; nil when it failed.
    private func timed<T: Sendable>(_ name: String, windowStartMs: Int64, _ body: () async throws -> T) async -> T? {
        let started = ContinuousClock.now
        let cpuStarted = Self.processCPUms()
        var result: T?
        do {
            result = try await body()
        } catch {
            runtime.update { $0.encoderErrors += 1 }
            logger.warning("stage failed", metadata: ["stage": "\(name)", "window.start_ms": "\(windowStartMs)",
                                                      "error": "\(Credentials.redact("\(error)"))"])
        }
        let ms = Self.milliseconds(since: started)
        let cpuMs = Self.processCPUms() - cpuStarted
        runtime.update {
            $0.encodeMs[name, default: 0] += ms
            $0.encodeCpuMs[name, default: 0] += cpuMs
            $0.encodeCalls[name, default: 0] += 1
            $0.encodeLongestMs[name] = max($0.encodeLongestMs[name] ?? 0, ms)
        }
        return result
    }

    /// Wall-clock milliseconds from `start` until now.
    static func milliseconds(since start: ContinuousClock.Instant) -> Double {
        (ContinuousClock.now - start).seconds * 1000
    }

    /// CPU time of the whole process (every thread), ms.
    static func processCPUms() -> Double {
        var t = timespec()
        guard clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t) == 0 else { return 0 }
        return Double(t.tv_sec) * 1000 + Double(t.tv_nsec) / 1e6
    }

    func setState(_ state: StreamState, error raw: String?) {
        let error = raw.map(Credentials.redact)
        let now = clock.nowMs()
        var changed = false
        runtime.update {
            changed = $0.state != state
            $0.state = state
            $0.lastError = error ?? ($0.state == .running ? nil : $0.lastError)
            $0.lastProgressMs = now
        }
        guard changed else { return }
        _ = try? store.appendEvent(Event(streamId: config.id, atMs: now,
                                         payload: .streamState(StreamStateChange(state: state, error: error))))
    }

    /// Errors no retry can fix: a local file that is missing or unreadable as media, or a
    /// codec this FFmpeg cannot decode. Network sources are always retried.
    static func isPermanent(_ error: Error, source: String) -> Bool {
        let isNetwork = source.contains("://")
        guard let e = error as? MediaError else { return false }
        switch e {
        case .unsupportedCodec, .noUsableStream, .invalidOptions, .noFrameAt: return true
        case .cannotOpen: return !isNetwork && !source.hasPrefix("/dev/")
        case .readTimedOut, .readFailed: return false
        }
    }
}

public enum PipelineError: Error, Sendable, CustomStringConvertible {
    case sourceEnded(String)
    public var description: String {
        switch self {
        case let .sourceEnded(source): return "live source '\(Credentials.redact(source))' ended; it will be reopened"
        }
    }
}
