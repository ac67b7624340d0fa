// Full-text ranking over a real SQLite store: IDF then recency, all-words-first, stream,
// time and modality filters, and user text that is never FTS syntax.
import Foundation
import Retrieval
import SightlineCore
import Store
import TestSupport
import XCTest

final class TextRankingTests: XCTestCase {
    private var temporary: TemporaryDirectory!

    override func setUpWithError() throws { temporary = try TemporaryDirectory(prefix: "store") }

    override func tearDownWithError() throws { temporary = nil }

    func makeStore() throws -> Store { try Store(path: temporary.path("s.sqlite")) }

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

    func testExtremeTimeFiltersDoNotOverflow() throws {
        let store = try makeStore()
        try store.append(speechWindow("door", 4000, "a delivery"), committedMs: 1)
        let ranking = TextRanking(store: store)
        XCTAssertEqual(try ranking.moments(MomentQuery(text: "delivery", fromMs: Int64.min, toMs: Int64.max)).count, 1)
        XCTAssertEqual(try ranking.moments(MomentQuery(text: "delivery", fromMs: Int64.min + 1, toMs: 0)).count, 0)
        XCTAssertEqual(try ranking.moments(MomentQuery(text: "delivery", fromMs: -9_223_372_036_854_775_800, toMs: 10_000)).count, 1)
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
