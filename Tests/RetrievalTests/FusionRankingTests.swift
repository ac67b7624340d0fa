// Fused ranking over a real SQLite store with real all-MiniLM-L6-v2 vectors (the fetched
// model, `Scripts/fetch-models minilm-l6-v2`): synthetic 2 s windows whose speech and
// on-screen text carry the vectors the text-embedding enricher would have stored.
import Foundation
@testable import Retrieval
import SightlineCore
import Store
import TestSupport
import TextEmbedder
import XCTest

/// The model behind the vectorizer seam, loaded once for every test.
struct MiniLMTestVectorizer: TextVectorizer {
    let model = "minilm-l6-v2"
    let embedder: TextEmbedder
    func vectors(_ texts: [String]) throws -> [[Float]] { texts.isEmpty ? [] : embedder.embed(texts) }

    static let shared: MiniLMTestVectorizer? = {
        let dir = URL(fileURLWithPath: Fixtures.modelsDirectory).appendingPathComponent("minilm-l6-v2")
        return (try? TextEmbedder(directory: dir)).map { MiniLMTestVectorizer(embedder: $0) }
    }()

    /// The shared vectorizer, or a skip that names the missing model.
    static func required() throws -> MiniLMTestVectorizer {
        guard let v = shared else {
            throw XCTSkip("all-MiniLM-L6-v2 not found in \(Fixtures.modelsDirectory); run Scripts/fetch-models minilm-l6-v2")
        }
        return v
    }
}

final class FusionRankingTests: XCTestCase {
    private var temporary: TemporaryDirectory!
    private var vectorizer: MiniLMTestVectorizer!

    override func setUpWithError() throws {
        temporary = try TemporaryDirectory(prefix: "fusion")
        vectorizer = try MiniLMTestVectorizer.required()
    }

    override func tearDownWithError() throws { temporary = nil }

    // MARK: - Building windows

    /// What one 2 s window holds.
    struct Content {
        var speech: String?
        var ocr: String?
        var ocrContinues = false
        var people = 0
        var labels: [(String, Double)] = []
    }

    func window(_ stream: String, _ i: Int, _ c: Content, origin: Int64 = 0) throws -> WindowRecord {
        let start = origin + Int64(i) * 2000, end = start + 2000
        var ev: [Evidence] = [Evidence(modality: .audioLevel, startMs: start, endMs: end, value: -30)]
        if let s = c.speech {
            let vector = try vectorizer.vectors([s])[0]
            ev.append(Evidence(modality: .speech, startMs: start + 100, endMs: end - 100, text: s,
                               embedding: Embedding(model: vectorizer.model, vector: vector)))
        }
        if let o = c.ocr {
            // A continued line carries no vector: the enricher embeds only new lines.
            var embedding: Embedding?
            if !c.ocrContinues { embedding = Embedding(model: vectorizer.model, vector: try vectorizer.vectors([o])[0]) }
            ev.append(Evidence(modality: .ocr, startMs: start, endMs: end, text: o, confidence: 0.9, embedding: embedding,
                               region: Region(x0: 0.1, y0: 0.1, x1: 0.5, y1: 0.2), continues: c.ocrContinues))
        }
        for p in 0..<c.people {
            ev.append(Evidence(modality: .person, startMs: start, endMs: end, text: "person", confidence: 0.8,
                               value: Double(c.people), region: Region(x0: 0.1 * Double(p), y0: 0.2, x1: 0.1 * Double(p) + 0.1, y1: 0.9)))
        }
        for (name, p) in c.labels {
            ev.append(Evidence(modality: .label, startMs: start, endMs: end, text: name, confidence: p))
        }
        return WindowRecord(streamId: stream, startMs: start, endMs: end, frameCount: 2, audioSamples: 32000, evidence: ev)
    }

    func makeStore(_ windows: [WindowRecord]) throws -> (Store, FusionRanking) {
        let store = try Store(path: temporary.path("s.sqlite"))
        for (k, w) in windows.enumerated() { try store.append(w, committedMs: Int64(k)) }
        return (store, FusionRanking(index: WindowIndex(store: store, model: vectorizer.model), vectorizer: vectorizer))
    }

    static let chatter = [
        "good morning everyone", "the weather looks fine today", "I think the meeting starts at nine",
        "could you pass me the salt", "my phone battery is almost empty", "we should paint the fence this summer",
        "the train was late again", "let's order pizza tonight", "the football match ended in a draw",
        "I lost my keys somewhere in the garden",
    ]

    // MARK: - Speech

    func testSpokenPhraseRanksItsWindowFirst() throws {
        var windows: [WindowRecord] = []
        for i in 0..<40 {
            let speech: String? = i == 23 ? "the parcel will be left with the neighbour" : (i % 3 == 0 ? Self.chatter[i % Self.chatter.count] : nil)
            windows.append(try window("door", i, Content(speech: speech)))
        }
        let (_, fusion) = try makeStore(windows)
        let top = try fusion.moments(MomentQuery(text: "the parcel will be left with the neighbour", limit: 5))
        XCTAssertEqual(top.first?.stream, "door")
        XCTAssertEqual(top.first?.evidence.first?.text, "the parcel will be left with the neighbour")
        XCTAssertTrue(top.first.map { $0.startMs <= 46_100 && $0.endMs >= 47_900 } ?? false, "\(top)")
    }

    func testParaphraseOfSpeechFindsIt() throws {
        var windows: [WindowRecord] = []
        for i in 0..<40 {
            let speech: String? = i == 17 ? "the courier dropped the package at the back door" : (i % 2 == 0 ? Self.chatter[i % Self.chatter.count] : nil)
            windows.append(try window("door", i, Content(speech: speech)))
        }
        let (_, fusion) = try makeStore(windows)
        let answer = try fusion.answer(MomentQuery(text: "what was said about the delivery?", limit: 3))
        XCTAssertEqual(answer.form, .said)
        XCTAssertEqual(answer.moments.first?.evidence.first?.text, "the courier dropped the package at the back door")
        XCTAssertEqual(answer.answer, "“the courier dropped the package at the back door” (0:00:34)")
    }

    // MARK: - On-screen text

    func testOCRTextIsFoundWhereItIsVisible() throws {
        var windows: [WindowRecord] = []
        for i in 0..<40 {
            var c = Content()
            if (10...14).contains(i) { c.ocr = "FRESH BREAD TODAY"; c.ocrContinues = i > 10 }
            if (30...31).contains(i) { c.ocr = "NO PARKING"; c.ocrContinues = i > 30 }
            windows.append(try window("shop", i, c))
        }
        let (_, fusion) = try makeStore(windows)
        let answer = try fusion.answer(MomentQuery(text: "what did the sign say about bread?", limit: 3))
        XCTAssertEqual(answer.form, .written)
        let best = try XCTUnwrap(answer.moments.first)
        XCTAssertEqual(best.evidence.first?.text, "FRESH BREAD TODAY")
        // Visible from window 10 to 14; attention (λ = 0.7 s, reach 2.1 s) may reach one window further each way.
        XCTAssertTrue((18_000...20_000).contains(best.startMs), "start \(best.startMs)")
        XCTAssertTrue((30_000...32_000).contains(best.endMs), "end \(best.endMs)")
        XCTAssertNotNil(best.evidence.first?.region)
        XCTAssertEqual(answer.answer, "“FRESH BREAD TODAY” (0:00:20)")
    }

    // MARK: - People

    func testEachVisitIsItsOwnMoment() throws {
        let visits = [10...14, 40...44, 70...79]
        var windows: [WindowRecord] = []
        for i in 0..<100 {
            let people = visits.contains { $0.contains(i) } ? (i == 75 ? 2 : 1) : 0
            windows.append(try window("door", i, Content(people: people, labels: [("patio", 0.4)])))
        }
        let (_, fusion) = try makeStore(windows)
        let moments = try fusion.moments(MomentQuery(text: "a person", limit: 10))
        XCTAssertEqual(moments.count, 3, "\(moments.map { ($0.startMs, $0.endMs) })")
        let spans = moments.map { ($0.startMs, $0.endMs) }.sorted { $0.0 < $1.0 }
        for (span, visit) in zip(spans, visits) {
            let start = Int64(visit.lowerBound) * 2000, end = Int64(visit.upperBound + 1) * 2000
            XCTAssertTrue((start - 2000...start).contains(span.0), "\(span) vs \(visit)")
            XCTAssertTrue((end...end + 2000).contains(span.1), "\(span) vs \(visit)")
        }
        XCTAssertEqual(moments.first?.evidence.first?.modality, .person)

        let count = try fusion.answer(MomentQuery(text: "how many people were there?", fromMs: 140_000, toMs: 160_000))
        XCTAssertEqual(count.form, .howMany)
        XCTAssertEqual(count.answer, "2 people at 0:02:30.")
    }

    // MARK: - Several signals

    func testWindowsWhereBothHoldRankAboveWindowsWhereOneDoes() throws {
        var windows: [WindowRecord] = []
        for i in 0..<60 {
            var c = Content(labels: [("patio", 0.5)])
            if i == 10 || i == 40 { c.labels = [("dog", 0.8)]; c.speech = "the dog is barking at the gate" }  // both
            if i == 20 { c.labels = [("dog", 0.8)] }                                                         // label only
            if i == 30 { c.speech = "the dog is barking at the gate" }                                       // speech only
            if i % 5 == 2 { c.speech = Self.chatter[i % Self.chatter.count] }
            windows.append(try window("yard", i, c))
        }
        let (_, fusion) = try makeStore(windows)
        let moments = try fusion.moments(MomentQuery(text: "a barking dog", limit: 10))
        // Each moment named by the window whose middle it covers.
        let order = moments.map { m in [10, 20, 30, 40].first { w in m.startMs <= Int64(w) * 2000 + 1000 && m.endMs >= Int64(w) * 2000 + 1000 } ?? -1 }
        XCTAssertEqual(order.count, 4, "\(moments.map { ($0.startMs, $0.endMs, $0.score) })")
        XCTAssertEqual(Set(order.prefix(2)), [10, 40], "both signals first: \(moments.map { ($0.startMs, $0.score) })")
        XCTAssertEqual(Set(order.dropFirst(2)), [20, 30], "then one signal")
    }

    // MARK: - Normalisation

    func testBusyAndQuietStreamsAreComparable() throws {
        // A kennel camera sees a dog in most windows; a yard camera once. Each stream's
        // unusual window is what a query for a dog should find first, not the kennel's routine.
        var windows: [WindowRecord] = []
        for i in 0..<60 {
            windows.append(try window("kennel", i, Content(people: i == 33 ? 2 : 0,
                                                          labels: i == 33 ? [("dog", 0.95)] : (i % 5 == 0 ? [("patio", 0.5)] : [("dog", 0.4)]))))
            windows.append(try window("yard", i, Content(labels: i == 12 ? [("dog", 0.6)] : [("patio", 0.5)])))
        }
        let (_, fusion) = try makeStore(windows)
        let moments = try fusion.moments(MomentQuery(text: "a dog", limit: 10))
        XCTAssertEqual(moments.count, 2, "\(moments.map { ($0.stream, $0.startMs, $0.score) })")
        XCTAssertEqual(Set(moments.map(\.stream)), ["kennel", "yard"])
        XCTAssertTrue(moments.contains { $0.stream == "yard" && $0.startMs <= 24_000 && $0.endMs >= 26_000 })
        XCTAssertTrue(moments.contains { $0.stream == "kennel" && $0.startMs <= 66_000 && $0.endMs >= 68_000 })
        // Unnormalised, the kennel's 0.4-dog windows (0.4·cos) would sit near the yard's 0.6 one.
        let z = try XCTUnwrap(moments.first { $0.stream == "yard" }?.score)
        XCTAssertGreaterThan(z, 0)
    }

    // MARK: - The index follows the store

    func testSinkAddsWindowsAndRetentionTrimsThem() throws {
        var windows: [WindowRecord] = []
        for i in 0..<20 { windows.append(try window("door", i, Content(speech: i % 4 == 0 ? Self.chatter[i % 10] : nil))) }
        let (store, fusion) = try makeStore(windows)
        XCTAssertTrue(try fusion.moments(MomentQuery(text: "the parcel will be left with the neighbour")).isEmpty)
        XCTAssertEqual(fusion.index.windowCount(stream: "door"), 20)
        let late = try window("door", 20, Content(speech: "the parcel will be left with the neighbour"))
        let id = try store.append(late, committedMs: 100)
        try fusion.index.committed(CommittedWindow(id: id, record: late, committedMs: 100))
        XCTAssertEqual(fusion.index.windowCount(stream: "door"), 21)
        // The moment is where it was said (the row's span), not the windows attention reached.
        let found = try XCTUnwrap(try fusion.moments(MomentQuery(text: "the parcel will be left with the neighbour")).first)
        XCTAssertEqual(found.startMs, 40_100, "\(found)")
        XCTAssertEqual(found.endMs, 41_900, "\(found)")
        // Retention deletes windows ending before 10 s.
        XCTAssertEqual(try store.enforceRetention(stream: "door", policy: RetentionPolicy(maxAgeMs: 1000), nowMs: 11_000), 5)
        _ = try fusion.moments(MomentQuery(text: "weather"))
        XCTAssertEqual(fusion.index.windowCount(stream: "door"), 16)
    }

    // MARK: - Extreme times

    func testNothingOverflowsAtExtremeTimes() throws {
        var windows: [WindowRecord] = []
        // One window in five says it (a signal in every window would be no signal: its
        // stream's median).
        func says(_ i: Int) -> String? { i == 2 ? "the dog is barking" : nil }
        for i in 0..<5 { windows.append(try window("far", i, Content(speech: says(i), people: i % 2), origin: Int64.max - 20_000)) }
        for i in 0..<5 { windows.append(try window("early", i, Content(speech: says(i), people: i % 2), origin: Int64.min + 10)) }
        for i in 0..<5 { windows.append(try window("edge", i, Content(speech: says(i)), origin: MomentQuery.validTimes.upperBound - 10_000)) }
        let (_, fusion) = try makeStore(windows)
        for (from, to) in [(nil, nil), (Int64.min, Int64.max), (Int64.max - 1, Int64.max), (Int64.min, Int64.min + 1),
                           (MomentQuery.validTimes.lowerBound, MomentQuery.validTimes.upperBound)] as [(Int64?, Int64?)] {
            for text in ["the dog is barking", "when did someone come by?", "how many people were there?", "what is happening now?"] {
                _ = try fusion.answer(MomentQuery(text: text, fromMs: from, toMs: to, limit: MomentQuery.maxLimit))
            }
        }
        let all = try fusion.moments(MomentQuery(text: "the dog is barking", limit: 10))
        XCTAssertEqual(Set(all.map(\.stream)), ["far", "early", "edge"])
    }

    // MARK: - Through the memory the API reads

    func testStoreMemoryAnswersWithFusionAndEncodesTheAnswer() async throws {
        var windows: [WindowRecord] = []
        for i in 0..<30 { windows.append(try window("door", i, Content(speech: i == 7 ? "the parcel will be left with the neighbour" : nil))) }
        let (store, fusion) = try makeStore(windows)
        let memory = StoreMemory(store: store, fusion: fusion)
        let answer = try await memory.answer(MomentQuery(text: "when was the parcel left with the neighbour?"))
        XCTAssertEqual(answer.form, .when)
        XCTAssertEqual(answer.moments.first?.evidence.first?.text, "the parcel will be left with the neighbour")
        XCTAssertEqual(answer.answer, "At \(FusionRanking.time(answer.moments[0].startMs)).")
        let json = try JSONSerialization.jsonObject(with: JSONEncoder().encode(answer)) as? [String: Any]
        XCTAssertEqual(json?["form"] as? String, "when")
        XCTAssertNotNil(json?["answer"] as? String)
        XCTAssertEqual((json?["moments"] as? [Any])?.count, answer.moments.count)
        // Without the text model: full text, and no answer for a count.
        let plain = try await StoreMemory(store: store).answer(MomentQuery(text: "how many parcels?"))
        XCTAssertEqual(plain.form, .howMany)
        XCTAssertNil(plain.answer)
    }

    // MARK: - Question forms

    // MARK: - Standing queries

    /// The daemon's standing-query scorer, window by window inside each commit: people in
    /// view for four windows answer "someone at the door" (no evidence holds those words)
    /// with one occurrence; a window whose commit fails is forgotten by the index.
    func testAFusedStandingQueryOccursOnceAndARolledBackWindowIsForgotten() throws {
        let store = try Store(path: temporary.path("s.sqlite"))
        let fusion = FusionRanking(index: WindowIndex(store: store, model: vectorizer.model), vectorizer: vectorizer)
        let matcher = StandingQueryMatcher(streamId: "door", queries: [StandingQuery(text: "someone at the door", minScore: 0)],
                                           store: store, scorer: FusedWindowScorer(fusion: fusion))
        for i in 0..<30 {
            let visit = (12..<16).contains(i)
            let w = try window("door", i, Content(speech: i % 4 == 0 && !visit ? Self.chatter[i % Self.chatter.count] : nil,
                                                  people: visit ? 1 : 0))
            try store.append(w, committedMs: Int64(i)) { id in try matcher.matches(CommittedWindow(id: id, record: w, committedMs: Int64(i))) }
        }
        let events = try store.events(afterId: 0, limit: 100)
        XCTAssertEqual(events.map(\.kind), [.occurrenceStart, .occurrenceEnd], "\(events)")
        guard case let .occurrenceEnd(o)? = events.last?.payload else { return XCTFail("no end") }
        XCTAssertEqual(o.startMs, 24_000, "begins with the first window showing someone")
        XCTAssertEqual(o.endMs, 34_000, "ends a window after the last (attention reaches it)")
        XCTAssertGreaterThanOrEqual(o.score, 0.5)
        XCTAssertTrue(o.evidence.contains("a person"), "\(o.evidence)")

        // A window scored inside a transaction that then fails: the store and the index agree again.
        struct Abort: Error {}
        let lost = try window("door", 30, Content(people: 1))
        XCTAssertThrowsError(try store.append(lost, committedMs: 30) { id in
            _ = try matcher.matches(CommittedWindow(id: id, record: lost, committedMs: 30))
            throw Abort()
        })
        XCTAssertEqual(fusion.index.windowCount(stream: "door"), 31, "the index read the window inside the transaction")
        matcher.rolledBack()
        _ = try fusion.moments(MomentQuery(text: "someone at the door", streams: ["door"]))
        XCTAssertEqual(fusion.index.windowCount(stream: "door"), 30)
        XCTAssertEqual(try store.windowCount(stream: "door"), 30)
    }

    func testQuestionForms() {
        XCTAssertEqual(QuestionForm(question: "when did someone come to the door?"), .when)
        XCTAssertEqual(QuestionForm(question: "what was said about the delivery?"), .said)
        XCTAssertEqual(QuestionForm(question: "what did the sign say?"), .written)
        XCTAssertEqual(QuestionForm(question: "how many people were there at ten?"), .howMany)
        XCTAssertEqual(QuestionForm(question: "what is happening now?"), .now)
        XCTAssertEqual(QuestionForm(question: "red car"), .other)
        XCTAssertEqual(QuestionForm.content(of: "when did someone come to the door?"), "someone come to door")
        XCTAssertEqual(QuestionForm.content(of: "what was said about the delivery?"), "delivery")
        XCTAssertEqual(QuestionForm.content(of: "what did the sign say?"), "")
        XCTAssertEqual(QuestionForm.content(of: "red car"), "red car")
        XCTAssertEqual(FusionRanking.time(83_000), "0:01:23")
        XCTAssertEqual(FusionRanking.time(1_764_646_887_000), "2025-12-02 03:41:27Z")
        XCTAssertEqual(FusionRanking.time(Int64.min), "-9223372036854775808 ms")
    }

    func testRobustMedianAndMAD() {
        XCTAssertEqual(StreamScorer.robust([1, 2, 3], zeros: 5).median, 0)
        let r = StreamScorer.robust([1, 2, 3, 4, 5], zeros: 1) // 0 1 2 3 4 5
        XCTAssertEqual(r.median, 2.5)
        XCTAssertEqual(r.mad, 1.5) // deviations 2.5 1.5 0.5 0.5 1.5 2.5
        // Quickselect against a sort, odd and even counts, with ties.
        var state: UInt64 = 99
        for count in [1, 2, 3, 10, 101, 1000] {
            var values = (0..<count).map { _ -> Double in
                state = state &* 6_364_136_223_846_793_005 &+ 1
                return Double((state >> 40) % 50) / 7
            }
            let sorted = values.sorted()
            let expected = count % 2 == 1 ? sorted[count / 2] : (sorted[count / 2 - 1] + sorted[count / 2]) / 2
            XCTAssertEqual(StreamScorer.middle(&values), expected, "count \(count)")
        }
    }
}
