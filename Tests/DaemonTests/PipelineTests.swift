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
        // Window 1 changed from grey 10 to 200: motion, and the standing query "motion" fired once.
        let matches = events.compactMap { e -> QueryMatch? in
            if case let .match(m) = e.payload { return m }
            return nil
        }
        XCTAssertEqual(matches.count, 1)
        XCTAssertEqual(matches.first?.startMs, 2000)
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

final class ReloadTests: XCTestCase {
    func testReloadStartsNewStreamsStopsRemovedOnesAndKeepsUnchanged() async throws {
        let dir = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("reload-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        func write(_ id: String) throws {
            try "id = \"\(id)\"\nsource = \"rtsp://\(id)\"\n".write(to: dir.appendingPathComponent("\(id).toml"), atomically: true, encoding: .utf8)
        }
        try write("a")
        try write("b")
        let store = try Store(path: dir.appendingPathComponent("s.sqlite").path)
        var daemon = DaemonConfig()
        daemon.paths.streamsDir = dir.path
        struct Blocking: WindowReaderFactory {
            func open(_ s: StreamConfig, decodeThreads: Int) async throws -> any WindowReader { BlockingReader() }
        }
        let clock = ManualClock()
        let sup = Supervisor(daemon: daemon, streams: try Configuration.loadStreams(directory: dir.path), store: store,
                             readers: Blocking(), encoders: RegistryEncoders.modelFree(), clock: clock, logger: quietLogger)
        let task = Task { try await sup.run() }
        func states() -> [String: StreamState] {
            Dictionary(uniqueKeysWithValues: sup.runtimes.map { ($0.id, $0.snapshot.state) })
        }
        func waitFor(_ expected: [String: StreamState]) async throws {
            for _ in 0..<500 where states() != expected { try await Task.sleep(for: .milliseconds(5)) }
            XCTAssertEqual(states(), expected)
        }
        try await waitFor(["a": .running, "b": .running])
        let bBefore = sup.runtimes.first { $0.id == "b" }
        // Remove a, add c, leave b alone.
        try FileManager.default.removeItem(at: dir.appendingPathComponent("a.toml"))
        try write("c")
        sup.requestReload()
        try await waitFor(["b": .running, "c": .running])
        XCTAssertTrue(sup.runtimes.first { $0.id == "b" } === bBefore, "the unchanged stream kept its pipeline")
        // A broken file keeps the running set.
        try "id = \"d\"\nsourse = \"x\"\n".write(to: dir.appendingPathComponent("d.toml"), atomically: true, encoding: .utf8)
        sup.requestReload()
        try await Task.sleep(for: .milliseconds(100))
        XCTAssertEqual(states(), ["b": .running, "c": .running])
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
                try store.append(WindowRecord(streamId: id, startMs: end - 2000, endMs: end), committedMs: now)
            }
        }
        try store.appendEvent(Event(streamId: "short", atMs: now - 48 * 3_600_000, payload: .streamState(StreamStateChange(state: .running))))
        try store.appendEvent(Event(streamId: "short", atMs: now - 1000, payload: .streamState(StreamStateChange(state: .running))))
        var shortConfig = StreamConfig(id: "short", source: "rtsp://x")
        shortConfig.retention.maxAgeMs = 2 * 3_600_000
        let short = shortConfig
        let service = RetentionService(store: store, defaults: RetentionPolicy(maxAgeMs: 24 * 3_600_000, maxBytes: nil),
                                       streams: { [short] }, intervalMs: 60_000, clock: clock, logger: quietLogger)
        XCTAssertEqual(service.sweep(), ["short": 2, "default": 1])
        XCTAssertEqual(try store.windowCount(stream: "short"), 1)
        XCTAssertEqual(try store.windowCount(stream: "default"), 2)
        XCTAssertEqual(try store.events(afterId: 0, limit: 10).count, 1, "the 48 h old event is gone")
    }
}
