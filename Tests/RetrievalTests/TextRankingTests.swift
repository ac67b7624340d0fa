// Full-text ranking over a real SQLite store: IDF then recency, all-words-first, stream,
// time and modality filters, and user text that is never FTS syntax.
import Foundation
import Retrieval
import SightlineCore
import Store
import XCTest

final class TextRankingTests: XCTestCase {
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

    func testQueryRanksMatchingWindowAndReturnsEvidence() throws {
        let store = try makeStore()
        try store.append(speechWindow("door", 0, "nothing happening here"), committedMs: 1)
        try store.append(speechWindow("door", 2000, "the delivery van arrived at the door"), committedMs: 2)
        try store.append(speechWindow("door", 4000, "a delivery was expected"), committedMs: 3)
        try store.append(speechWindow("yard", 0, "delivery van in the yard"), committedMs: 4)

        let all = try TextRanking(store: store).moments(MomentQuery(text: "Delivery VAN!", limit: 10))
        XCTAssertEqual(all.count, 2, "both windows with 'delivery' and 'van'")
        XCTAssertEqual(Set(all.map(\.stream)), ["door", "yard"])
        XCTAssertTrue(all.allSatisfy { $0.score > 0 })

        let door = try TextRanking(store: store).moments(MomentQuery(text: "delivery van", streams: ["door"]))
        XCTAssertEqual(door.count, 1)
        XCTAssertEqual(door[0].startMs, 2000)
        XCTAssertEqual(door[0].endMs, 4000)
        XCTAssertEqual(door[0].evidence.first?.modality, "speech")
        XCTAssertEqual(door[0].evidence.first?.text, "the delivery van arrived at the door")

        // Falls back to any-word matching when no window has every word.
        let anyWord = try TextRanking(store: store).moments(MomentQuery(text: "delivery unicorn", streams: ["door"]))
        XCTAssertEqual(anyWord.map(\.startMs).sorted(), [2000, 4000])

        // Time filter: only evidence overlapping [4000, 10000) (the 2000 window's speech ends at 3900).
        let later = try TextRanking(store: store).moments(MomentQuery(text: "delivery", streams: ["door"], fromMs: 4000, toMs: 10_000))
        XCTAssertEqual(later.map(\.startMs), [4000])

        // Modality filter: no OCR evidence stored.
        XCTAssertEqual(try TextRanking(store: store).moments(MomentQuery(text: "delivery", modalities: ["ocr"])).count, 0)
    }

    func testRankingByIDFThenRecency() throws {
        let store = try makeStore()
        for (i, text) in ["apple", "apple", "apple", "apple kiwi", "kiwi"].enumerated() {
            try store.append(speechWindow("s", Int64(i) * 2000, text), committedMs: 1)
        }
        XCTAssertEqual(try TextRanking(store: store).moments(MomentQuery(text: "apple kiwi")).map(\.startMs), [6000], "all words must match first")
        // No window has all words: any word counts; kiwi (2 rows) weighs more than apple (4 rows);
        // equal scores go newest first.
        let ranked = try TextRanking(store: store).moments(MomentQuery(text: "kiwi apple zebra"))
        XCTAssertEqual(ranked.map(\.startMs), [6000, 8000, 4000, 2000, 0])
        XCTAssertGreaterThan(ranked[0].score, ranked[1].score)
        XCTAssertGreaterThan(ranked[1].score, ranked[2].score)
        XCTAssertEqual(ranked[2].score, ranked[4].score)
        XCTAssertEqual(try TextRanking(store: store).moments(MomentQuery(text: "kiwi apple zebra", limit: 2)).map(\.startMs), [6000, 8000])
    }

    func testQuerySyntaxCharactersAreNotFTSOperators() throws {
        let store = try makeStore()
        try store.append(speechWindow("s", 0, "NOT a problem (really)"), committedMs: 1)
        let m = try TextRanking(store: store).moments(MomentQuery(text: "\"not\" a: problem* (really"))
        XCTAssertEqual(m.count, 1)
        XCTAssertThrowsError(try TextRanking(store: store).moments(MomentQuery(text: " ?! "))) { error in
            XCTAssertEqual(error as? QueryError, .emptyQuery(" ?! "))
        }
    }
}
