// Pipelines and supervisor with scripted readers and an injected clock: reconnect backoff,
// permanent failures, isolation between streams, standing queries, thinning and encoders.
import Foundation
import Logging
@testable import MediaIO
import Synchronization
import XCTest
@testable import Daemon
import Modalities
import Retrieval
import SightlineCore
@testable import Store

/// A clock whose sleeps return at once and advance time; records every sleep.
final class ManualClock: DaemonClock {
    let now = Mutex<Int64>(1_700_000_000_000)
    let sleeps = Mutex<[Int64]>([])
    func nowMs() -> Int64 { now.withLock { $0 } }
    func sleep(ms: Int64) async throws {
        try Task.checkCancellation()
        sleeps.withLock { $0.append(ms) }
        now.withLock { $0 += max(0, ms) }
        await Task.yield()
    }
}

/// Windows of 1 kHz tone (loud) with one grey frame each, 2 s apart.
func makeWindow(_ i: Int, frames: Int = 1, amplitude: Float = 0.5, grey: UInt8 = 100) -> MediaWindow {
    let audio = (0..<32_000).map { amplitude * sin(2 * .pi * 1000 * Float($0) / 16_000) }
    let frame = VideoFrame(ptsMs: Int64(i) * 2000, width: 64, height: 36, layout: .rgb8, isKeyframe: true,
                           rgb: [UInt8](repeating: grey, count: 64 * 36 * 3), planar: [])
    return MediaWindow(index: i, startMs: Int64(i) * 2000, endMs: Int64(i + 1) * 2000,
                       frames: Array(repeating: frame, count: frames), audio: audio)
}

final class ScriptedReader: WindowReader, @unchecked Sendable {
    let isLive: Bool
    private let windows: Mutex<[MediaWindow]>
    let failAtEnd: Error?
    init(isLive: Bool, windows: [MediaWindow], failAtEnd: Error? = nil) {
        self.isLive = isLive
        self.windows = Mutex(windows)
        self.failAtEnd = failAtEnd
    }
    func next() async throws -> MediaWindow? {
        if let w = windows.withLock({ $0.isEmpty ? nil : $0.removeFirst() }) { return w }
        if let failAtEnd { throw failAtEnd }
        return nil
    }
    func cancel() { windows.withLock { $0.removeAll() } }
}

/// Opens fail `failures` times with a network error, then give `windows` and end.
final class FlakyFactory: WindowReaderFactory, @unchecked Sendable {
    let opens = Mutex(0)
    let failures: Int
    let windows: [MediaWindow]
    var error: MediaError = .cannotOpen(input: "rtsp://cam", FFmpegFailure(function: "avformat_open_input", code: -111, message: "Connection refused"))
    init(failures: Int, windows: [MediaWindow]) {
        self.failures = failures
        self.windows = windows
    }
    func open(_ stream: StreamConfig, decodeThreads: Int) async throws -> any WindowReader {
        let n = opens.withLock { $0 += 1; return $0 }
        if n <= failures { throw error }
        return ScriptedReader(isLive: false, windows: windows)
    }
}

let quietLogger: Logger = {
    var l = Logger(label: "test")
    l.logLevel = .critical
    return l
}()

final class PipelineTests: XCTestCase {
    var store: Store!
    var path: String!

    override func setUpWithError() throws {
        path = NSTemporaryDirectory() + "pipe-\(UUID().uuidString).sqlite"
        store = try Store(path: path)
    }

    override func tearDownWithError() throws {
        for s in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + s) }
    }

    func pipeline(_ c: StreamConfig, _ f: some WindowReaderFactory, clock: ManualClock,
                  encoders: [any WindowEncoder] = [AudioLevelEncoder(), MotionEncoder()]) -> Pipeline {
        Pipeline(config: c, store: store, readers: f, encoders: encoders, clock: clock, logger: quietLogger,
                 queueCapacity: 4, decodeThreads: 1, random: { 0.5 })
    }

    func testBackoffDoublesFrom1sTo60sWithJitter() {
        let b = Backoff()
        XCTAssertEqual((0..<8).map { b.delayMs(attempt: $0, unit: 0.5) }, [1000, 2000, 4000, 8000, 16000, 32000, 60000, 60000])
        XCTAssertEqual(b.delayMs(attempt: 0, unit: 0), 800)
        XCTAssertEqual(b.delayMs(attempt: 0, unit: 0.999_999), 1200)
        XCTAssertEqual(b.delayMs(attempt: 30, unit: 0.999_999), 60000, "never above the cap")
        XCTAssertEqual(b.delayMs(attempt: 30, unit: 0), 48000)
    }

    func testReconnectsWithBackoffThenIngests() async throws {
        var c = StreamConfig(id: "cam", source: "rtsp://cam")
        c.queries = [.init(text: "motion", minScore: 0)]
        let clock = ManualClock()
        let windows = [makeWindow(0, grey: 10), makeWindow(1, grey: 200), makeWindow(2, grey: 200)]
        let p = pipeline(c, FlakyFactory(failures: 3, windows: windows), clock: clock)
        await p.run()
        XCTAssertEqual(clock.sleeps.withLock { $0 }, [1000, 2000, 4000])
        let s = p.runtime.snapshot
        XCTAssertEqual(s.state, .finished)
        XCTAssertEqual(s.reconnects, 3)
        XCTAssertEqual(s.windowsProcessed, 3)
        XCTAssertEqual(try store.windowCount(stream: "cam"), 3)
        let events = try store.events(afterId: 0, limit: 100)
        let states = events.compactMap { e -> StreamState? in
            if case let .streamState(change) = e.payload { return change.state }
            return nil
        }
        XCTAssertEqual(states, [.reconnecting, .running, .finished])
        // Window 1 changed from grey 10 to 200: motion; 2 s later the scene still differs
        // from its background (30 s time constant): 2 of 3 windows matched "motion", so one
        // occurrence began, from window 1, confirmed by window 2.
        let starts = events.compactMap { e -> Occurrence? in
            if case let .occurrenceStart(o) = e.payload { return o }
            return nil
        }
        XCTAssertEqual(starts.map(\.startMs), [2000])
        XCTAssertEqual(starts.map(\.endMs), [6000])
        let timeline = try store.timeline(stream: "cam", fromMs: nil, toMs: nil, limit: 10)
        let levels = timeline.compactMap { $0.evidence.first { $0.modality == .audioLevel }?.value }
        XCTAssertEqual(levels.count, 3)
        XCTAssertEqual(levels[0], 20 * log10(0.5 / 2.0.squareRoot()), accuracy: 0.01, "RMS of a 0.5 sine is -9.03 dBFS")
    }

    func testMissingLocalFileFailsWithoutRetry() async throws {
        let clock = ManualClock()
        let f = FlakyFactory(failures: 100, windows: [])
        f.error = .cannotOpen(input: "/nope.mp4", FFmpegFailure(function: "avformat_open_input", code: -2, message: "No such file or directory"))
        let p = pipeline(StreamConfig(id: "f", source: "/nope.mp4"), f, clock: clock)
        await p.run()
        XCTAssertEqual(p.runtime.snapshot.state, .failed)
        XCTAssertTrue(p.runtime.snapshot.lastError?.contains("/nope.mp4") ?? false)
        XCTAssertEqual(clock.sleeps.withLock { $0 }, [])
    }

    func testFailingStreamDoesNotDisturbOthers() async throws {
        let clock = ManualClock()
        let good = StreamConfig(id: "good", source: "/good.mp4")
        var bad = StreamConfig(id: "bad", source: "rtsp://down")
        bad.enabled = true
        struct ByStream: WindowReaderFactory {
            func open(_ s: StreamConfig, decodeThreads: Int) async throws -> any WindowReader {
                if s.id == "bad" { throw MediaError.readTimedOut(input: s.source, timeoutMs: 10) }
                return ScriptedReader(isLive: false, windows: (0..<5).map { makeWindow($0) })
            }
        }
        let sup = Supervisor(daemon: DaemonConfig(), streams: [good, bad], store: store, readers: ByStream(),
                             encoders: RegistryEncoders.modelFree(), clock: clock, logger: quietLogger)
        let task = Task { try await sup.run() }
        // Wait (bounded) until the good stream finished; the bad one keeps reconnecting.
        for _ in 0..<500 where sup.runtimes.first(where: { $0.id == "good" })?.snapshot.state != .finished {
            try await Task.sleep(for: .milliseconds(10))
        }
        let byId = Dictionary(uniqueKeysWithValues: sup.runtimes.map { ($0.id, $0.snapshot) })
        XCTAssertEqual(byId["good"]?.state, .finished)
        XCTAssertEqual(try store.windowCount(stream: "good"), 5)
        XCTAssertGreaterThan(byId["bad"]?.reconnects ?? 0, 0)
        XCTAssertTrue(byId["bad"]?.lastError?.contains("read timed out") ?? false)
        task.cancel()
        _ = await task.result
    }

    func testRealtimeFileIsAnchoredAtWallClockAndPaced() async throws {
        var c = StreamConfig(id: "demo", source: "/demo.mp4")
        c.realtime = true
        let clock = ManualClock()
        let start = clock.nowMs()
        let p = pipeline(c, FlakyFactory(failures: 0, windows: (0..<3).map { makeWindow($0) }), clock: clock, encoders: [])
        await p.run()
        XCTAssertEqual(try store.windowRanges(stream: "demo").map(\.lowerBound), [start, start + 2000, start + 4000])
        let sleeps = clock.sleeps.withLock { $0 }
        XCTAssertEqual(sleeps.reduce(0, +), 6000, "each window waits for its end time")
        XCTAssertEqual(sleeps.max(), Pipeline.pacingSliceMs, "in slices, so stop() is prompt")
    }

    func testEncoderFailureKeepsWindowAndCounts() async throws {
        struct Broken: WindowEncoder {
            let name = "broken"
            let input = EncoderInput.audio
            func encode(_ window: MediaWindow) async throws -> [Evidence] { throw CancellationError() }
        }
        let clock = ManualClock()
        let p = pipeline(StreamConfig(id: "s", source: "/s.mp4"), FlakyFactory(failures: 0, windows: [makeWindow(0)]),
                         clock: clock, encoders: [Broken(), AudioLevelEncoder()])
        await p.run()
        XCTAssertEqual(p.runtime.snapshot.encoderErrors, 1)
        XCTAssertEqual(try store.timeline(stream: "s", fromMs: nil, toMs: nil, limit: 5).first?.evidence.map(\.modality), [.audioLevel])
    }

    func testWhatEncodersHoldAtTheEndIsEnrichedStoredWithTheLastWindowAndShownToSinks() async throws {
        /// Holds a "sentence" until the input ends, as the speech transcriber does.
        final class Holding: WindowEncoder, @unchecked Sendable {
            let name = "holding"
            let input = EncoderInput.audio
            let lastEnd = Mutex<Int64?>(nil)
            func encode(_ window: MediaWindow) async throws -> [Evidence] {
                lastEnd.withLock { $0 = window.endMs }
                return []
            }
            func finish() async throws -> [Evidence] {
                guard let end = lastEnd.withLock({ v -> Int64? in defer { v = nil }; return v }) else { return [] }
                return [Evidence(modality: .speech, startMs: end - 3_000, endMs: end - 500, text: "the last words")]
            }
        }
        struct Marking: EvidenceEnricher {
            let name = "marking"
            func enrich(_ evidence: [Evidence], streamId: String) async throws -> [Evidence] {
                evidence + evidence.filter { $0.modality == .speech }.map { Evidence(modality: .caption, startMs: $0.startMs, endMs: $0.endMs, text: "enriched") }
            }
        }
        final class Watching: WindowSink, @unchecked Sendable {
            let name = "watching"
            let log = Mutex<[String]>([])
            func windowCommitted(_ window: CommittedWindow) async throws { log.withLock { $0.append("window \(window.record.startMs)") } }
            func evidenceAdded(_ evidence: [Evidence], to window: CommittedWindow) async throws {
                log.withLock { $0.append("added \(evidence.count) to \(window.record.startMs), holding \(window.record.evidence.count)") }
            }
            func streamEnded() async throws { log.withLock { $0.append("ended") } }
        }
        let sink = Watching()
        let p = Pipeline(config: StreamConfig(id: "s", source: "/s.mp4"), store: store,
                         readers: FlakyFactory(failures: 0, windows: (0..<3).map { makeWindow($0) }),
                         encoders: [Holding(), AudioLevelEncoder()], enrichers: [Marking()], sinks: [sink],
                         clock: ManualClock(), logger: quietLogger, queueCapacity: 4, decodeThreads: 1, random: { 0.5 })
        await p.run()
        XCTAssertEqual(p.runtime.snapshot.encoderErrors, 0)
        XCTAssertEqual(sink.log.withLock { $0 }, ["window 0", "window 2000", "window 4000", "added 2 to 4000, holding 3", "ended"])
        let windows = try store.timeline(stream: "s", fromMs: nil, toMs: nil, limit: 5)
        XCTAssertEqual(windows.map { $0.evidence.map(\.modality) }, [[.audioLevel], [.audioLevel], [.audioLevel, .speech, .caption]])
        let late = try XCTUnwrap(windows.last?.evidence.first { $0.modality == .speech })
        XCTAssertEqual([late.startMs, late.endMs], [3_000, 5_500], "late evidence keeps its own times")
        XCTAssertEqual(try TextRanking(store: store).moments(MomentQuery(text: "last words", streams: ["s"], limit: 5)).count, 1)
    }
}

/// A clock whose sleeps take an hour of real time unless cancelled (a back-off that only
/// an interruption can end).
struct HourLongSleeps: DaemonClock {
    func nowMs() -> Int64 { 1_700_000_000_000 }
    func sleep(ms: Int64) async throws { try await Task.sleep(for: .seconds(3600)) }
}

/// Runs `pipeline` and reports when run() has returned.
final class RunningPipeline: Sendable {
    final class Flag: Sendable { let value = Mutex(false) }
    let ended = Flag()
    let task: Task<Void, Never>
    init(_ pipeline: Pipeline) {
        let ended = self.ended
        task = Task {
            await pipeline.run()
            ended.value.withLock { $0 = true }
        }
    }
    var hasEnded: Bool { ended.value.withLock { $0 } }
}

final class ShutdownTests: XCTestCase {
    var store: Store!
    var path: String!

    override func setUpWithError() throws {
        path = NSTemporaryDirectory() + "stop-\(UUID().uuidString).sqlite"
        store = try Store(path: path)
    }

    override func tearDownWithError() throws {
        for s in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + s) }
    }

    /// Fails the test unless `condition` holds within `seconds`.
    func expect(_ what: String, within seconds: Double, _ condition: () -> Bool) async throws {
        let deadline = Date().addingTimeInterval(seconds)
        while !condition() {
            if Date() > deadline { return XCTFail("not within \(seconds) s: \(what)") }
            try await Task.sleep(for: .milliseconds(10))
        }
    }

    func testStopInterruptsTheReconnectBackOff() async throws {
        let f = FlakyFactory(failures: 1000, windows: [])
        let p = Pipeline(config: StreamConfig(id: "cam", source: "rtsp://cam"), store: store, readers: f, encoders: [],
                         clock: HourLongSleeps(), logger: quietLogger, queueCapacity: 4, decodeThreads: 1, random: { 0.5 })
        let running = RunningPipeline(p)
        try await expect("reconnecting", within: 10) { p.runtime.snapshot.state == .reconnecting }
        let started = Date()
        await p.stop()
        try await expect("run() returned after stop()", within: 5) { running.hasEnded }
        XCTAssertLessThan(Date().timeIntervalSince(started), 5)
        XCTAssertEqual(p.runtime.snapshot.state, .stopped)
        XCTAssertEqual(f.opens.withLock { $0 }, 1, "no further attempt after stop()")
    }

    func testStopInterruptsABlockingOpen() async throws {
        // A TCP listener that accepts (in the kernel's backlog) and never answers: FFmpeg's
        // RTSP open waits for a reply until its connect timeout, here an hour.
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        addr.sin_port = 0
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &addr) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) == 0 && listen(fd, 8) == 0 && getsockname(fd, $0, &len) == 0 }
        }
        XCTAssertTrue(bound)
        let port = UInt16(bigEndian: addr.sin_port)
        var c = StreamConfig(id: "cam", source: "rtsp://127.0.0.1:\(port)/stream", registry: .standard)
        c.connectTimeoutMs = 3_600_000
        c.readTimeoutMs = 3_600_000
        let p = Pipeline(config: c, store: store, readers: MediaReaderFactory(), encoders: [], clock: ManualClock(),
                         logger: quietLogger, queueCapacity: 4, decodeThreads: 1)
        let running = RunningPipeline(p)
        try await expect("the open under way", within: 10) { p.runtime.snapshot.state == .starting }
        try await Task.sleep(for: .milliseconds(300)) // let FFmpeg connect and wait for its answer
        XCTAssertFalse(running.hasEnded, "the open blocks")
        await p.stop()
        try await expect("run() returned after stop()", within: 5) { running.hasEnded }
        XCTAssertEqual(p.runtime.snapshot.state, .stopped)
    }

    /// An encoder that waits for `gate` on its first window and advances the manual clock
    /// by one second per window (a slow model).
    struct SlowEncoder: WindowEncoder {
        let name = "slow"
        let input = EncoderInput.audio
        let clock: ManualClock
        let gate: Gate
        final class Gate: Sendable {
            let open = Mutex(false)
            let entered = Mutex(false)
        }
        func encode(_ window: MediaWindow) async throws -> [Evidence] {
            gate.entered.withLock { $0 = true }
            while !gate.open.withLock({ $0 }) { try await Task.sleep(for: .milliseconds(5)) }
            clock.now.withLock { $0 += 1000 }
            return [Evidence(modality: .speech, startMs: window.startMs, endMs: window.endMs, text: "window \(window.index)")]
        }
    }

    func testAStoppingPipelineWaitsForWhatEncodersHoldOnlyUntilItsDeadline() async throws {
        /// Holds its last utterance behind 8 s of work (packed speech with a long queue).
        struct SlowToFinish: WindowEncoder {
            let name = "speech"
            let input = EncoderInput.audio
            func encode(_ window: MediaWindow) async throws -> [Evidence] { [] }
            func finish() async throws -> [Evidence] {
                usleep(8_000_000) // blocks its thread, as a queue wait does
                return [Evidence(modality: .speech, startMs: 0, endMs: 1, text: "too late")]
            }
        }
        /// A camera that gives two windows, then waits until it is cancelled.
        final class TwoThenWait: WindowReader, WindowReaderFactory, @unchecked Sendable {
            let isLive = true
            let windows = Mutex((0..<2).map { makeWindow($0) })
            let idle = CancellableReader()
            func next() async throws -> MediaWindow? {
                if let w = windows.withLock({ $0.isEmpty ? nil : $0.removeFirst() }) { return w }
                return try await idle.next()
            }
            func cancel() { idle.cancel() }
            func open(_ stream: StreamConfig, decodeThreads: Int) async throws -> any WindowReader { self }
        }
        let p = Pipeline(config: StreamConfig(id: "cam", source: "rtsp://cam"), store: store,
                         readers: TwoThenWait(), encoders: [SlowToFinish()],
                         clock: WallClock(), logger: quietLogger, queueCapacity: 4, decodeThreads: 1, random: { 0.5 })
        let running = RunningPipeline(p)
        try await expect("both windows committed", within: 10) { p.runtime.snapshot.windowsProcessed == 2 }
        let started = Date()
        await p.stop(drainMs: 300)
        try await expect("run() returned", within: 10) { running.hasEnded }
        XCTAssertLessThan(Date().timeIntervalSince(started), 5, "the stop did not wait for the 8 s of work")
        XCTAssertEqual(try store.timeline(stream: "cam", fromMs: nil, toMs: nil, limit: 5).flatMap(\.evidence), [])
    }

    func testWithinMsGivesTheResultOrNilAtTheDeadline() async throws {
        let quick = try await Pipeline.withinMs(5_000) { 42 }
        XCTAssertEqual(quick, 42)
        let started = Date()
        let slow = try await Pipeline.withinMs(50) { () -> Int in usleep(2_000_000); return 1 }
        XCTAssertNil(slow)
        XCTAssertLessThan(Date().timeIntervalSince(started), 1.5)
        struct Failure: Error {}
        do {
            _ = try await Pipeline.withinMs(5_000) { () -> Int in throw Failure() }
            XCTFail("the body's error is thrown")
        } catch is Failure {}
    }

    func testStopDrainsQueuedWindowsUntilTheDeadlineAndCountsTheRest() async throws {
        let clock = ManualClock()
        let gate = SlowEncoder.Gate()
        var c = StreamConfig(id: "file", source: "/clip.mp4")
        c.queries = [StandingQuery(text: "window", minScore: 0)]
        let p = Pipeline(config: c, store: store, readers: FlakyFactory(failures: 0, windows: (0..<20).map { makeWindow($0) }),
                         encoders: [SlowEncoder(clock: clock, gate: gate)], clock: clock, logger: quietLogger,
                         queueCapacity: 4, decodeThreads: 1, random: { 0.5 })
        let running = RunningPipeline(p)
        // Window 0 is in the encoder, windows 1-4 are queued, the reader waits (back-pressure).
        try await expect("window 0 in the encoder and a full queue", within: 10) {
            gate.entered.withLock { $0 } && p.runtime.snapshot.queueDepth == 4
        }
        await p.stop(drainMs: 2500)
        gate.open.withLock { $0 = true }
        try await expect("run() returned", within: 10) { running.hasEnded }
        // Windows 0, 1 and 2 end at +1 s, +2 s and +3 s; the deadline (+2.5 s) has passed
        // before window 3, so 3 and 4 are left and counted; 5-19 were never read.
        XCTAssertEqual(try store.windowRanges(stream: "file").map(\.lowerBound), [0, 2000, 4000])
        XCTAssertEqual(p.runtime.snapshot.windowsProcessed, 3)
        XCTAssertEqual(p.runtime.snapshot.windowsAbandoned, 2)
        XCTAssertEqual(p.runtime.snapshot.state, .stopped)
        // The committed windows came with their standing-query event: every one matched
        // "window", so the occurrence began with window 1 (2 of 3 above) from window 0.
        let starts = try store.events(afterId: 0, limit: 100).compactMap { e -> Int64? in
            if case let .occurrenceStart(o) = e.payload { return o.startMs }
            return nil
        }
        XCTAssertEqual(starts, [0])
    }
}

final class WindowQueueTests: XCTestCase {
    func testThinningDropsFramesFirstThenQuietWindows() async {
        let q = WindowQueue(capacity: 2, mode: .thin)
        // 10 windows: even ones loud, odd ones silent; nobody consumes.
        for i in 0..<10 { await q.push(makeWindow(i, frames: 2, amplitude: i % 2 == 0 ? 0.5 : 0)) }
        let depth = await q.depth
        let dropped = await q.windowsDropped
        let thinned = await q.framesThinned
        XCTAssertEqual(depth, 8, "audioCapacity = 4 × 2")
        XCTAssertEqual(dropped, 2)
        XCTAssertEqual(thinned, 2 * (10 - 2), "only the newest 2 windows keep their frames")
        var kept: [Int] = []
        var withFrames: [Int] = []
        await q.finish()
        while let w = await q.pop() {
            kept.append(w.index)
            if !w.frames.isEmpty { withFrames.append(w.index) }
        }
        XCTAssertEqual(kept, [0, 2, 4, 5, 6, 7, 8, 9], "the two oldest quiet windows (1, 3) went first")
        XCTAssertEqual(withFrames, [8, 9])
    }

    func testBackPressureWaitsInsteadOfDropping() async {
        let q = WindowQueue(capacity: 1, mode: .backPressure)
        await q.push(makeWindow(0))
        let pushed = Task { await q.push(makeWindow(1)); return true }
        try? await Task.sleep(for: .milliseconds(50))
        let depthWhileBlocked = await q.depth
        XCTAssertEqual(depthWhileBlocked, 1)
        let first = await q.pop()
        XCTAssertEqual(first?.index, 0)
        _ = await pushed.value
        let second = await q.pop()
        XCTAssertEqual(second?.index, 1)
        let dropped = await q.windowsDropped
        XCTAssertEqual(dropped, 0)
    }
}

/// A live reader that yields nothing until cancel(), then ends.
final class CancellableReader: WindowReader, @unchecked Sendable {
    let isLive = true
    private let cancelled = Mutex(false)
    func next() async throws -> MediaWindow? {
        while !cancelled.withLock({ $0 }) { try await Task.sleep(for: .milliseconds(5)) }
        return nil
    }
    func cancel() { cancelled.withLock { $0 = true } }
}

/// Opens CancellableReaders and records, for every open, the state of that stream's
/// previous pipeline (found through `previous`) at that moment.
final class RecordingFactory: WindowReaderFactory, @unchecked Sendable {
    let opens = Mutex<[(source: String, previousState: StreamState?)]>([])
    let previous = Mutex<[String: StreamRuntime]>([:])
    func open(_ s: StreamConfig, decodeThreads: Int) async throws -> any WindowReader {
        let before = previous.withLock { $0[s.id]?.snapshot.state }
        opens.withLock { $0.append((s.source, before)) }
        return CancellableReader()
    }
}

final class ReloadTests: XCTestCase {
    var dir: URL!
    var store: Store!

    override func setUpWithError() throws {
        dir = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("reload-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        store = try Store(path: dir.appendingPathComponent("s.sqlite").path)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    func write(_ id: String, source: String? = nil, extra: String = "") throws {
        try "id = \"\(id)\"\nsource = \"\(source ?? "rtsp://\(id)")\"\n\(extra)"
            .write(to: dir.appendingPathComponent("\(id).toml"), atomically: true, encoding: .utf8)
    }

    func supervisor(_ readers: some WindowReaderFactory) throws -> Supervisor {
        var daemon = DaemonConfig()
        daemon.paths.streamsDir = dir.path
        return Supervisor(daemon: daemon, streams: try Configuration.loadStreams(directory: dir.path), store: store,
                          readers: readers, encoders: RegistryEncoders.modelFree(), clock: ManualClock(), logger: quietLogger)
    }

    func states(_ sup: Supervisor) -> [String: StreamState] {
        Dictionary(uniqueKeysWithValues: sup.runtimes.map { ($0.id, $0.snapshot.state) })
    }

    func waitFor(_ what: String, _ condition: () -> Bool) async throws {
        let deadline = Date().addingTimeInterval(10)
        while !condition() {
            if Date() > deadline { throw E("timed out waiting for \(what)") }
            try await Task.sleep(for: .milliseconds(5))
        }
    }

    struct E: Error, CustomStringConvertible { var description: String; init(_ d: String) { description = d } }

    func testReloadStartsNewStreamsStopsRemovedOnesAndKeepsUnchanged() async throws {
        try write("a")
        try write("b")
        let sup = try supervisor(RecordingFactory())
        let task = Task { try await sup.run() }
        try await waitFor("a and b running") { states(sup) == ["a": .running, "b": .running] }
        let bBefore = sup.runtimes.first { $0.id == "b" }
        // Remove a, add c, leave b alone.
        try FileManager.default.removeItem(at: dir.appendingPathComponent("a.toml"))
        try write("c")
        sup.requestReload()
        try await waitFor("the first reload applied") { sup.reloadCounts.applied == 1 }
        try await waitFor("b and c running") { states(sup) == ["b": .running, "c": .running] }
        XCTAssertTrue(sup.runtimes.first { $0.id == "b" } === bBefore, "the unchanged stream kept its pipeline")
        // A broken file: the reload is refused (counted), the running set is untouched.
        try "id = \"d\"\nsourse = \"x\"\n".write(to: dir.appendingPathComponent("d.toml"), atomically: true, encoding: .utf8)
        try FileManager.default.removeItem(at: dir.appendingPathComponent("c.toml"))
        sup.requestReload()
        try await waitFor("the broken reload refused") { sup.reloadCounts.failed == 1 }
        XCTAssertEqual(sup.reloadCounts, .init(applied: 1, failed: 1))
        XCTAssertEqual(states(sup), ["b": .running, "c": .running], "c.toml is gone, but the folder did not load: c runs on")
        XCTAssertEqual(sup.streamConfigs.map(\.id), ["b", "c"])
        task.cancel()
        _ = await task.result
    }

    func testChangedStreamsOldPipelineHasEndedBeforeTheNewOneOpens() async throws {
        try write("cam", source: "rtsp://cam/one")
        let factory = RecordingFactory()
        let sup = try supervisor(factory)
        let task = Task { try await sup.run() }
        try await waitFor("cam running") { states(sup) == ["cam": .running] }
        let old = try XCTUnwrap(sup.runtimes.first)
        factory.previous.withLock { $0["cam"] = old }
        try write("cam", source: "rtsp://cam/two")
        sup.requestReload()
        try await waitFor("the new pipeline opened") { factory.opens.withLock { $0.count } == 2 }
        let opens = factory.opens.withLock { $0 }
        XCTAssertEqual(opens.map(\.source), ["rtsp://cam/one", "rtsp://cam/two"])
        XCTAssertEqual(opens[1].previousState, .stopped, "the old pipeline had ended when the new one opened the source")
        try await waitFor("cam running again") { states(sup) == ["cam": .running] }
        task.cancel()
        _ = await task.result
    }

    func testRetentionSweepsStreamsAddedByReloadWithTheirOwnSettings() async throws {
        try write("a")
        let sup = try supervisor(RecordingFactory())
        let task = Task { try await sup.run() }
        try await waitFor("a running") { states(sup) == ["a": .running] }
        // Windows of "late" 1 h and 3 h old; it is added by a reload with a 2 h maximum age.
        let now = ManualClock().nowMs()
        for ageH: Int64 in [1, 3] {
            // Live windows are committed as they end.
            try store.append(WindowRecord(streamId: "late", startMs: now - ageH * 3_600_000 - 2000, endMs: now - ageH * 3_600_000),
                             committedMs: now - ageH * 3_600_000)
        }
        try write("late", extra: "[retention]\nmax_age = \"2h\"\n")
        sup.requestReload()
        try await waitFor("the reload applied") { sup.reloadCounts.applied == 1 }
        let retention = RetentionService(store: store, defaults: RetentionPolicy(maxAgeMs: 24 * 3_600_000, maxBytes: nil),
                                         supervisor: sup, intervalMs: 60_000, clock: ManualClock(), logger: quietLogger)
        XCTAssertEqual(retention.sweep(), ["late": 1], "swept with its own 2 h, not the 24 h default")
        XCTAssertEqual(try store.windowCount(stream: "late"), 1)
        task.cancel()
        _ = await task.result
    }
}

final class RetentionServiceTests: XCTestCase {
    func testSweepAppliesStreamOverridesDefaultsAndAgesOutEvents() throws {
        let path = NSTemporaryDirectory() + "ret-\(UUID().uuidString).sqlite"
        defer { for s in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + s) } }
        let store = try Store(path: path)
        let clock = ManualClock()
        let now = clock.nowMs()
        // Two streams, windows 1 h, 3 h and 30 h old.
        for id in ["short", "default"] {
            for ageH in [1, 3, 30] {
                let end = now - Int64(ageH) * 3_600_000
                try store.append(WindowRecord(streamId: id, startMs: end - 2000, endMs: end), committedMs: end)
            }
        }
        // A file read without pacing: media times near 0 (1970 as epoch ms), stored just now.
        try store.append(WindowRecord(streamId: "file", startMs: 0, endMs: 2000), committedMs: now - 1000)
        try store.appendEvent(Event(streamId: "short", atMs: now - 48 * 3_600_000, payload: .streamState(StreamStateChange(state: .running))))
        try store.appendEvent(Event(streamId: "short", atMs: now - 1000, payload: .streamState(StreamStateChange(state: .running))))
        var shortConfig = StreamConfig(id: "short", source: "rtsp://x")
        shortConfig.retention.maxAgeMs = 2 * 3_600_000
        let short = shortConfig
        let service = RetentionService(store: store, defaults: RetentionPolicy(maxAgeMs: 24 * 3_600_000, maxBytes: nil),
                                       streams: { [short] }, intervalMs: 60_000, clock: clock, logger: quietLogger)
        XCTAssertEqual(service.sweep(), ["short": 2, "default": 1], "the file's window is as new as its commit")
        XCTAssertEqual(try store.windowCount(stream: "file"), 1)
        XCTAssertEqual(try store.windowCount(stream: "short"), 1)
        XCTAssertEqual(try store.windowCount(stream: "default"), 2)
        XCTAssertEqual(try store.events(afterId: 0, limit: 10).count, 1, "the 48 h old event is gone")
        // The purge was checkpointed: the write-ahead log is truncated.
        let wal = try FileManager.default.attributesOfItem(atPath: path + "-wal")[.size] as? NSNumber
        XCTAssertEqual(wal?.int64Value, 0)
    }
}
