// The scheduler that protects speech: picture modalities are thinned to their keep-alive
// while a live stream is late, counted per modality, and run on every window otherwise.
import Foundation
import Synchronization
import XCTest
@testable import Daemon
@testable import MediaIO
import Modalities
import SightlineCore
@testable import Store

/// Reads audio like speech and takes `costMs` of the injected clock per window.
struct SlowAudioEncoder: WindowEncoder {
    let name = "speech"
    let input = EncoderInput.audio
    let clock: ManualClock
    let costMs: Int64
    func encode(_ window: MediaWindow) async throws -> [Evidence] {
        clock.now.withLock { $0 += costMs }
        return []
    }
}

/// Speech whose work queues up behind `encode` (packed speech): each window returns at once,
/// in real time, and adds `growthMs` to a backlog with `plannedDelayMs` by design.
final class BackloggedSpeechEncoder: Backlogged, Sendable {
    let name = "speech"
    let input = EncoderInput.audio
    let clock: ManualClock
    let growthMs: Int
    let plannedDelayMs = 5_000
    /// End of the last window handed over, and how much of the audio before it is not analysed.
    private let handed = Mutex<(endMs: Int64?, backlogMs: Int64)>((nil, 0))
    init(clock: ManualClock, growthMs: Int) {
        self.clock = clock
        self.growthMs = growthMs
    }
    var analysedEndMs: Int64? { handed.withLock { h in h.endMs.map { $0 - h.backlogMs } } }
    func encode(_ window: MediaWindow) async throws -> [Evidence] {
        clock.now.withLock { $0 += 2_000 }
        handed.withLock { $0 = (window.endMs, $0.backlogMs + Int64(growthMs)) }
        return []
    }
}

/// A picture modality that counts the windows it analysed.
final class CountingPictureEncoder: FrameSkipping, Sendable {
    let name = "people"
    let input = EncoderInput.frames
    let analysed = Mutex<[Int64]>([])
    var framesSkipped: Int { 0 }
    func encode(_ window: MediaWindow) async throws -> [Evidence] {
        analysed.withLock { $0.append(window.startMs) }
        return []
    }
}

/// A camera that gives `windows` at once (times on the injected clock's epoch), then ends;
/// reopening it fails for good, so the pipeline stops after one pass.
final class OnePassCamera: WindowReaderFactory, @unchecked Sendable {
    let windows: [MediaWindow]
    let opens = Mutex(0)
    init(windows: [MediaWindow]) { self.windows = windows }
    func open(_ stream: StreamConfig, decodeThreads: Int) async throws -> any WindowReader {
        guard opens.withLock({ $0 += 1; return $0 }) == 1 else {
            throw MediaError.noUsableStream(input: stream.source, wanted: "video")
        }
        return ScriptedReader(isLive: true, windows: windows)
    }
}

final class ComputeSchedulerTests: XCTestCase {
    func testThinsPicturesOnlyWhileAStreamIsLateAndKeepsTheKeepAlive() {
        let s = ComputeScheduler(lagBudgetMs: 5_000)
        XCTAssertTrue(s.admitsPicture(windowStartMs: 10_000, lastAnalysedEndMs: 9_000, keepAliveMs: 10_000, nowMs: 0))
        s.reportLag(stream: "a", lagMs: 4_000, nowMs: 100)
        XCTAssertFalse(s.isOverloaded(nowMs: 100), "4 s is inside the 5 s budget")
        s.reportLag(stream: "b", lagMs: 6_000, nowMs: 200)
        XCTAssertTrue(s.isOverloaded(nowMs: 200))
        XCTAssertFalse(s.admitsPicture(windowStartMs: 10_000, lastAnalysedEndMs: 9_000, keepAliveMs: 10_000, nowMs: 200))
        XCTAssertTrue(s.admitsPicture(windowStartMs: 19_000, lastAnalysedEndMs: 9_000, keepAliveMs: 10_000, nowMs: 200),
                      "the keep-alive is due")
        XCTAssertTrue(s.admitsPicture(windowStartMs: 10_000, lastAnalysedEndMs: nil, keepAliveMs: 10_000, nowMs: 200),
                      "a modality that has analysed nothing yet runs")
        XCTAssertFalse(s.isOverloaded(nowMs: 200 + ComputeScheduler.reportLifetimeMs + 1), "a stale report no longer counts")
        s.reportLag(stream: "b", lagMs: 6_000, nowMs: 300)
        s.remove(stream: "b")
        XCTAssertFalse(s.isOverloaded(nowMs: 300), "a removed stream no longer counts")
        s.reportLag(stream: "a", lagMs: 1_000, nowMs: 400)
        XCTAssertFalse(s.isOverloaded(nowMs: 400))
    }

    /// A live stream whose speech takes 3 s per 2 s window falls behind; once it is more
    /// than 5 s late its people modality runs only every keep-alive (10 s), each window left
    /// out is counted, and the per-modality lag shows people behind speech.
    func testLateStreamShedsPictureWindowsAtTheKeepAlive() async throws {
        let (processed, analysed, shed, snapshot) = try await run(speechCostMs: 3_000)
        XCTAssertEqual(analysed.count + shed, processed, "every window either analysed or counted")
        XCTAssertGreaterThan(shed, 0)
        // Lag before window i is 3 s·i − 2 s·(i + 1): over 5 s from window 8 (16 s) on.
        XCTAssertEqual(Array(analysed.prefix(8)), (0..<8).map { Int64($0) * 2_000 }, "every window while on time")
        let late = analysed.drop { $0 < 16_000 }
        for (a, b) in zip(late, late.dropFirst()) {
            XCTAssertGreaterThanOrEqual(b - a, 10_000 + 2_000, "analysed windows under overload are a keep-alive apart: \(analysed)")
        }
        let lags = try XCTUnwrap(snapshot.modalityLagMs)
        XCTAssertGreaterThan(try XCTUnwrap(lags["people"]), try XCTUnwrap(lags["speech"]))
    }

    func testStreamThatKeepsUpShedsNothing() async throws {
        let (processed, analysed, shed, _) = try await run(speechCostMs: 500)
        XCTAssertEqual(shed, 0)
        XCTAssertEqual(analysed.count, processed)
    }

    func testSpeechBacklogPastItsPlannedDelayIsLagAndThinsPictures() async throws {
        // Windows arrive on time; speech's queue grows 1.5 s per window. Late = backlog − 5 s
        // planned, over the 5 s budget once the backlog passes 10 s (from window 7 on).
        let (processed, analysed, shed, status) = try await run(speechCostMs: 0, backlogGrowthMs: 1_500)
        XCTAssertEqual(analysed.count + shed, processed)
        XCTAssertEqual(Array(analysed.prefix(7)), (0..<7).map { Int64($0) * 2_000 }, "on time while the backlog is planned")
        XCTAssertGreaterThan(shed, 0, "a speech backlog past its planned delay thins pictures")
        let lags = try XCTUnwrap(status.modalityLagMs)
        // 30 windows: the queue holds 45 s of audio at the end, behind the last window (whose
        // lag is the reopen's back-off after the one pass).
        XCTAssertEqual(try XCTUnwrap(lags["speech"]) - XCTUnwrap(status.lagMs), 45_000, "\(lags)")
    }

    func testPlannedSpeechDelayThinsNothing() async throws {
        let (processed, analysed, shed, status) = try await run(speechCostMs: 0, backlogGrowthMs: 150)
        XCTAssertEqual(shed, 0, "4.5 s of backlog is inside the packer's planned 5 s")
        XCTAssertEqual(analysed.count, processed)
        XCTAssertEqual(try XCTUnwrap(status.modalityLagMs?["speech"]) - XCTUnwrap(status.lagMs), 4_500)
    }

    private func run(speechCostMs: Int64, backlogGrowthMs: Int? = nil) async throws -> (Int, [Int64], Int, StreamStatus) {
        let path = NSTemporaryDirectory() + "sched-\(UUID().uuidString).sqlite"
        defer { for s in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + s) } }
        let store = try Store(path: path)
        let clock = ManualClock()
        let c = StreamConfig(id: "cam", source: "rtsp://cam")
        let people = CountingPictureEncoder()
        // Window i spans [2 s·i, 2 s·(i + 1)) after the clock's start; only speech moves the clock.
        let start = clock.nowMs()
        let windows = (0..<30).map { i -> MediaWindow in
            var w = makeWindow(i)
            w.startMs += start
            w.endMs += start
            return w
        }
        let speech: any WindowEncoder = if let backlogGrowthMs { BackloggedSpeechEncoder(clock: clock, growthMs: backlogGrowthMs) }
            else { SlowAudioEncoder(clock: clock, costMs: speechCostMs) }
        let p = Pipeline(config: c, store: store, readers: OnePassCamera(windows: windows),
                         encoders: [speech, people],
                         scheduler: ComputeScheduler(lagBudgetMs: 5_000), clock: clock, logger: quietLogger,
                         queueCapacity: 64, decodeThreads: 1)
        await p.run()
        let s = p.runtime.snapshot
        XCTAssertEqual(s.state, .failed, "one pass, then the reopen fails for good")
        XCTAssertEqual(s.windowsDropped, 0)
        return (s.windowsProcessed, people.analysed.withLock { $0 }.map { $0 - start }, s.windowsShed["people"] ?? 0,
                p.runtime.status(nowMs: clock.nowMs()))
    }
}
