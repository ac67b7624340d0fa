// Store: migrations, window commits, FTS5 ranking and filters, transcripts, retention and
// fp16 embeddings, all on a real SQLite file in a temporary directory.
import Foundation
import XCTest
@testable import Store

final class StoreTests: XCTestCase {
    var dir: URL!

    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("store-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: dir)
    }

    func makeStore() throws -> Store { try Store(path: dir.appendingPathComponent("s.sqlite").path) }

    func speechWindow(_ stream: String, _ start: Int64, _ text: String) -> WindowRecord {
        WindowRecord(streamId: stream, startMs: start, endMs: start + 2000, frameCount: 2, audioSamples: 32000,
                     evidence: [Evidence(modality: .speech, startMs: start + 100, endMs: start + 1900, text: text,
                                         words: [Word(text: text.split(separator: " ").first.map(String.init) ?? "",
                                                      startMs: start + 100, endMs: start + 400)]),
                                Evidence(modality: .audioLevel, startMs: start, endMs: start + 2000, value: -23.5)])
    }

    func testWALModeAndFTS5() throws {
        let store = try makeStore()
        let mode = try store.pool.read { db in try String.fetchOne(db, sql: "PRAGMA journal_mode") }
        XCTAssertEqual(mode, "wal")
        let tables = try store.pool.read { db in try String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE type='table' ORDER BY name") }
        XCTAssertTrue(tables.contains("evidence_fts"))
        XCTAssertTrue(tables.contains("subscriptions"))
    }

    func testQueryRanksMatchingWindowAndReturnsEvidence() throws {
        let store = try makeStore()
        try store.append(speechWindow("door", 0, "nothing happening here"), committedMs: 1)
        try store.append(speechWindow("door", 2000, "the delivery van arrived at the door"), committedMs: 2)
        try store.append(speechWindow("door", 4000, "a delivery was expected"), committedMs: 3)
        try store.append(speechWindow("yard", 0, "delivery van in the yard"), committedMs: 4)

        let all = try store.moments(MomentQuery(text: "Delivery VAN!", limit: 10))
        XCTAssertEqual(all.count, 2, "both windows with 'delivery' and 'van'")
        XCTAssertEqual(Set(all.map(\.stream)), ["door", "yard"])
        XCTAssertTrue(all.allSatisfy { $0.score > 0 })

        let door = try store.moments(MomentQuery(text: "delivery van", streams: ["door"]))
        XCTAssertEqual(door.count, 1)
        XCTAssertEqual(door[0].startMs, 2000)
        XCTAssertEqual(door[0].endMs, 4000)
        XCTAssertEqual(door[0].evidence.first?.modality, "speech")
        XCTAssertEqual(door[0].evidence.first?.text, "the delivery van arrived at the door")

        // Falls back to any-word matching when no window has every word.
        let anyWord = try store.moments(MomentQuery(text: "delivery unicorn", streams: ["door"]))
        XCTAssertEqual(anyWord.map(\.startMs).sorted(), [2000, 4000])

        // Time filter: only evidence overlapping [4000, 10000) (the 2000 window's speech ends at 3900).
        let later = try store.moments(MomentQuery(text: "delivery", streams: ["door"], fromMs: 4000, toMs: 10_000))
        XCTAssertEqual(later.map(\.startMs), [4000])

        // Modality filter: no OCR evidence stored.
        XCTAssertEqual(try store.moments(MomentQuery(text: "delivery", modalities: ["ocr"])).count, 0)
    }

    func testQuerySyntaxCharactersAreNotFTSOperators() throws {
        let store = try makeStore()
        try store.append(speechWindow("s", 0, "NOT a problem (really)"), committedMs: 1)
        let m = try store.moments(MomentQuery(text: "\"not\" a: problem* (really"))
        XCTAssertEqual(m.count, 1)
        XCTAssertThrowsError(try store.moments(MomentQuery(text: " ?! "))) { error in
            XCTAssertEqual(error as? StoreError, .emptyQuery(" ?! "))
        }
    }

    func testTranscriptReturnsSpeechInOrderWithWords() throws {
        let store = try makeStore()
        try store.append(speechWindow("s", 2000, "second line"), committedMs: 1)
        try store.append(speechWindow("s", 0, "first line"), committedMs: 2)
        let cues = try store.transcript(stream: "s", fromMs: nil, toMs: nil)
        XCTAssertEqual(cues.map(\.text), ["first line", "second line"])
        XCTAssertEqual(cues[0].words, [Word(text: "first", startMs: 100, endMs: 400)])
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
        XCTAssertEqual(try store.moments(MomentQuery(text: "word0")).map(\.stream), ["other"], "FTS entry deleted with its window")
        XCTAssertEqual(try store.moments(MomentQuery(text: "common", streams: ["s"], limit: 100)).count, 3)
        let orphanEvidence = try store.pool.read { db in
            try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM evidence WHERE window_id NOT IN (SELECT id FROM windows)")
        }
        XCTAssertEqual(orphanEvidence, 0)
    }

    func testRetentionBySizeKeepsNewestWithinBudget() throws {
        let store = try makeStore()
        for i in 0..<10 { try store.append(speechWindow("s", Int64(i) * 2000, "some text \(i)"), committedMs: 1) }
        let perWindow = Store.approximateBytes(speechWindow("s", 0, "some text 0"))
        try store.enforceRetention(stream: "s", policy: RetentionPolicy(maxBytes: perWindow * 4), nowMs: 0)
        XCTAssertEqual(try store.windowRanges(stream: "s").map(\.lowerBound), [12000, 14000, 16000, 18000])
        XCTAssertLessThanOrEqual(try store.totals()["s"]!.bytes, perWindow * 4)
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
        let e1 = try store.appendEvent(StoredEvent(streamId: "drive", kind: "stream_state", atMs: 1, payload: #"{"state":"running"}"#))
        let e2 = try store.appendEvent(StoredEvent(streamId: "drive", kind: "match", atMs: 2, subscriptionId: id))
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
}
