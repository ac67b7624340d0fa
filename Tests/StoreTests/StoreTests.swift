// Store: migrations, window commits, FTS5 ranking and filters, transcripts, retention and
// fp16 embeddings, all on a real SQLite file in a temporary directory.
import SpokenWords
import Foundation
import Retrieval
import SightlineCore
import TestSupport
import XCTest
@testable import Store

final class StoreTests: XCTestCase {
    private var temporary: TemporaryDirectory!

    override func setUpWithError() throws { temporary = try TemporaryDirectory(prefix: "store") }

    override func tearDownWithError() throws { temporary = nil }

    /// Moments as the daemon ranks them, to check what the store's index still finds.
    func moments(_ store: Store, _ q: MomentQuery) throws -> [Moment] { try TextRanking(store: store).moments(q) }

    func makeStore() throws -> Store { try Store(path: temporary.path("s.sqlite")) }

    func testWALModeAndFTS5() throws {
        let store = try makeStore()
        let mode = try store.pool.read { db in try String.fetchOne(db, sql: "PRAGMA journal_mode") }
        XCTAssertEqual(mode, "wal")
        let tables = try store.pool.read { db in try String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE type='table' ORDER BY name") }
        XCTAssertTrue(tables.contains("evidence_fts"))
        XCTAssertTrue(tables.contains("subscriptions"))
    }

    func testTranscriptReturnsSpeechInOrderWithWords() throws {
        let store = try makeStore()
        try store.append(speechWindow("s", 2000, "second line"), committedMs: 1)
        try store.append(speechWindow("s", 0, "first line"), committedMs: 2)
        let cues = try store.transcript(stream: "s", fromMs: nil, toMs: nil)
        XCTAssertEqual(cues.map(\.text), ["first line", "second line"])
        XCTAssertEqual(cues[0].words, [TranscriptWord(startMs: 100, endMs: 400, word: "first")])
        XCTAssertEqual(try store.transcript(stream: "s", fromMs: 2500, toMs: nil).map(\.text), ["second line"])
    }

    func testCommittedWindowsSurviveReopen() throws {
        do {
            let store = try makeStore()
            for i in 0..<5 { try store.append(speechWindow("s", Int64(i) * 2000, "w\(i)"), committedMs: 1) }
        }
        let reopened = try makeStore()
        XCTAssertEqual(try reopened.windowCount(stream: "s"), 5)
        XCTAssertEqual(try reopened.windowRanges(stream: "s").map(\.lowerBound), [0, 2000, 4000, 6000, 8000])
    }

    func testRetentionByAgeRemovesOldWindowsAndTheirText() throws {
        let store = try makeStore()
        for i in 0..<10 { try store.append(speechWindow("s", Int64(i) * 2000, "word\(i) common"), committedMs: 1) }
        try store.append(speechWindow("other", 0, "word0 common"), committedMs: 1)
        // now = 30 s, max age 15 s → windows ending at or before 15 000 ms go: ends 2000...14000 (7 windows).
        let n = try store.enforceRetention(stream: "s", policy: RetentionPolicy(maxAgeMs: 15_000), nowMs: 30_000)
        XCTAssertEqual(n, 7)
        XCTAssertEqual(try store.windowRanges(stream: "s").map(\.lowerBound), [14000, 16000, 18000])
        XCTAssertEqual(try moments(store, MomentQuery(text: "word0")).map(\.stream), ["other"], "FTS entry deleted with its window")
        XCTAssertEqual(try moments(store, MomentQuery(text: "common", streams: ["s"], limit: 100)).count, 3)
        let orphanEvidence = try store.pool.read { db in
            try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM evidence WHERE window_id NOT IN (SELECT id FROM windows)")
        }
        XCTAssertEqual(orphanEvidence, 0)
    }

    func testEmbeddingsRoundTripAsFloat16() throws {
        let store = try makeStore()
        let vector: [Float] = [0.5, -1.25, 3.140625, 1e-3, 65504]
        var rec = WindowRecord(streamId: "s", startMs: 0, endMs: 1000)
        rec.evidence = [Evidence(modality: .caption, startMs: 0, endMs: 1000, text: "a car",
                                 embedding: Embedding(model: "test-model", vector: vector))]
        try store.append(rec, committedMs: 0)
        let got = try store.embeddings(stream: "s", modality: .caption)
        XCTAssertEqual(got.count, 1)
        XCTAssertEqual(got[0].model, "test-model")
        // All values are exactly representable in binary16 except 1e-3 (→ 0.0010004044).
        XCTAssertEqual(got[0].vector[0], 0.5)
        XCTAssertEqual(got[0].vector[1], -1.25)
        XCTAssertEqual(got[0].vector[2], 3.140625)
        XCTAssertEqual(got[0].vector[3], 0.0010004044, accuracy: 1e-9)
        XCTAssertEqual(got[0].vector[4], 65504)
        XCTAssertEqual(Float16Blob.encode(vector).count, 10)
        XCTAssertNil(Float16Blob.decode(Data([1, 2, 3])))
    }

    func testEventsAndSubscriptions() throws {
        let store = try makeStore()
        let id = try store.addSubscription(text: "car in driveway", streams: ["drive"], minScore: 0.5, nowMs: 10)
        XCTAssertEqual(try store.subscriptions().map(\.text), ["car in driveway"])
        XCTAssertEqual(try store.subscriptions().first?.streams, ["drive"])
        let e1 = try store.appendEvent(Event(streamId: "drive", atMs: 1, payload: .streamState(StreamStateChange(state: .running))))
        let e2 = try store.appendEvent(Event(streamId: "drive", atMs: 2, subscriptionId: id,
                                                 payload: .match(QueryMatch(query: "car", stream: "drive", startMs: 0, endMs: 2000,
                                                                            score: 1.5, evidence: ["a car"]))))
        XCTAssertEqual(try store.events(afterId: e1, limit: 10).map(\.id), [e2])
        XCTAssertTrue(try store.removeSubscription(id: id))
        XCTAssertFalse(try store.removeSubscription(id: id))
    }

    func testRejectsWindowEndingBeforeStart() throws {
        let store = try makeStore()
        XCTAssertThrowsError(try store.append(WindowRecord(streamId: "s", startMs: 10, endMs: 5), committedMs: 0)) { error in
            guard case .invalidRecord = error as? StoreError else { return XCTFail("\(error)") }
        }
    }

    func testOpenFailsWithPathInMessage() {
        XCTAssertThrowsError(try Store(path: "/nonexistent-dir/x/s.sqlite")) { error in
            XCTAssertTrue("\(error)".contains("/nonexistent-dir/x/s.sqlite"), "\(error)")
        }
    }

    // MARK: - A window and its events in one transaction

    func testWindowAndItsMatchEventsCommitTogetherOrNotAtAll() throws {
        let store = try makeStore()
        // One window above the threshold begins an occurrence.
        let once = OccurrenceOptions(enterHits: 1, enterWindows: 1)
        let matcher = StandingQueryMatcher(streamId: "cam", queries: [StandingQuery(text: "parcel", minScore: 0, occurrence: once)],
                                           store: store)
        let record = WindowRecord(streamId: "cam", startMs: 4000, endMs: 6000, evidence: [
            Evidence(modality: .speech, startMs: 4100, endMs: 5000, text: "a parcel arrived"),
        ])
        // The matcher runs inside the transaction and finds the window being written.
        let id = try store.append(record, committedMs: 7) { windowId in
            try matcher.matches(CommittedWindow(id: windowId, record: record, committedMs: 7))
        }
        XCTAssertEqual(try store.windowCount(stream: "cam"), 1)
        let events = try store.events(afterId: 0, limit: 10)
        XCTAssertEqual(events.count, 1)
        guard case let .occurrenceStart(m)? = events.first?.payload else { return XCTFail("\(events)") }
        XCTAssertEqual(m.query, "parcel")
        XCTAssertEqual(m.startMs, 4000)
        XCTAssertEqual(m.evidence, ["a parcel arrived"])
        XCTAssertEqual(events.first?.atMs, 7)
        XCTAssertGreaterThan(id, 0)
        // When deriving the events fails, neither the window nor any event is stored.
        struct Broken: Error {}
        let second = WindowRecord(streamId: "cam", startMs: 6000, endMs: 8000, evidence: [
            Evidence(modality: .speech, startMs: 6100, endMs: 7000, text: "another parcel"),
        ])
        XCTAssertThrowsError(try store.append(second, committedMs: 9) { windowId in
            _ = try matcher.matches(CommittedWindow(id: windowId, record: second, committedMs: 9))
            throw Broken()
        })
        XCTAssertEqual(try store.windowCount(stream: "cam"), 1)
        XCTAssertEqual(try store.events(afterId: 0, limit: 10).count, 1)
        XCTAssertTrue(try moments(store, MomentQuery(text: "another", limit: 5)).isEmpty, "its evidence rolled back with it")
        XCTAssertEqual(try store.integrityCheck(), "ok")
    }

    /// An occurrence whose start event was lost with its window's failed transaction starts
    /// again on the next window that shows it: the matcher's trackers went back with the store.
    func testAStartLostWithItsWindowIsRaisedAgain() throws {
        let store = try makeStore()
        let once = OccurrenceOptions(enterHits: 1, enterWindows: 1)
        let matcher = StandingQueryMatcher(streamId: "cam", queries: [StandingQuery(text: "parcel", minScore: 0, occurrence: once)],
                                           store: store)
        let records = (0..<2).map { (i: Int64) in
            WindowRecord(streamId: "cam", startMs: 2000 * i, endMs: 2000 * (i + 1), evidence: [
                Evidence(modality: .speech, startMs: 2000 * i + 100, endMs: 2000 * i + 900, text: "a parcel arrived"),
            ])
        }
        struct Broken: Error {}
        XCTAssertThrowsError(try store.append(records[0], committedMs: 1) { id in
            let events = try matcher.matches(CommittedWindow(id: id, record: records[0], committedMs: 1))
            XCTAssertEqual(events.map(\.kind), [.occurrenceStart])
            throw Broken()
        })
        matcher.rolledBack()
        XCTAssertEqual(try store.events(afterId: 0, limit: 10).count, 0)
        try store.append(records[1], committedMs: 2) { id in
            try matcher.matches(CommittedWindow(id: id, record: records[1], committedMs: 2))
        }
        let events = try store.events(afterId: 0, limit: 10)
        XCTAssertEqual(events.map(\.kind), [.occurrenceStart], "the lost start is raised with the next window")
        guard case let .occurrenceStart(o)? = events.first?.payload else { return XCTFail("\(events)") }
        XCTAssertEqual(o.startMs, 2000)
    }

    // MARK: - Size on disk and the write-ahead log

    /// `windows` windows of measurements (audio level and motion, as a stream without speech
    /// stores): rows and index entries take far more on disk than their estimated bytes.
    func fillMeasurements(_ store: Store, stream: String, windows: Int) throws {
        var records: [WindowRecord] = []
        for i in 0..<windows {
            let start = Int64(i) * 2000
            let end = start + 2000
            let level = Evidence(modality: .audioLevel, startMs: start, endMs: end, value: -20 - Double(i % 7))
            let motion = Evidence(modality: .motion, startMs: start, endMs: end, value: Double(i % 5) / 10)
            records.append(WindowRecord(streamId: stream, startMs: start, endMs: end, evidence: [level, motion]))
        }
        try store.append(contentsOf: records, committedMs: 1)
    }

    func testSizeRetentionMeasuresTheFileNotTheEstimate() throws {
        let store = try makeStore()
        try fillMeasurements(store, stream: "front-door", windows: 12_000)
        let estimated = try XCTUnwrap(try store.totals()["front-door"]).bytes
        let used = try store.usedBytes()
        print("12000 windows: \(used) bytes in use on disk, \(estimated) estimated (x\(String(format: "%.2f", Double(used) / Double(estimated))))")
        XCTAssertGreaterThan(Double(used), 1.5 * Double(estimated), "the estimate alone misses much of the file")
        let budget: Int64 = 1 << 20
        let deleted = try store.enforceRetention(stream: "front-door", policy: RetentionPolicy(maxBytes: budget), nowMs: 0)
        XCTAssertGreaterThan(deleted, 0)
        let after = try store.usedBytes()
        XCTAssertLessThanOrEqual(after, budget, "in use on disk after retention: \(after) bytes")
        XCTAssertGreaterThan(after, budget * 8 / 10, "not far below the budget either")
        // The oldest went first.
        XCTAssertEqual(try store.windowRanges(stream: "front-door").last?.upperBound, 12_000 * 2000)
        XCTAssertEqual(try store.windowRanges(stream: "front-door").first?.lowerBound, Int64(deleted) * 2000)
    }

    func testWALIsLimitedAndTruncatedByACheckpoint() throws {
        let store = try makeStore()
        let limit = try store.pool.read { db in try Int64.fetchOne(db, sql: "PRAGMA journal_size_limit") }
        XCTAssertEqual(limit, 64 << 20)
        try fillMeasurements(store, stream: "cam", windows: 2000)
        _ = try store.enforceRetention(stream: "cam", policy: RetentionPolicy(maxAgeMs: 1000), nowMs: 2000 * 2000)
        let wal = { (try? FileManager.default.attributesOfItem(atPath: store.path + "-wal")[.size] as? NSNumber)?.int64Value ?? -1 }
        XCTAssertGreaterThan(wal(), 0, "the purge went to the WAL")
        XCTAssertEqual(try store.checkpoint(), 0)
        XCTAssertEqual(wal(), 0, "truncated")
        XCTAssertEqual(try store.windowCount(stream: "cam"), 1)
        XCTAssertEqual(try store.integrityCheck(), "ok")
    }
}
