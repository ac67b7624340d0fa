// The fast stream scorer against its plain reference (StreamScorer+Reference.swift) on a
// seeded index of realistic shape: three streams, 26,060 windows, every signal (labels and a
// people count on every window of the busy stream, faces, motion, speech reaching back
// before its window, on-screen text, captions spanning several windows, exact-word scores),
// irregular windows (gaps, short and long ones, a long window whose centre lies after its
// successor's) and a stream younger than the normalisation's minimum history. Text vectors
// are real all-MiniLM-L6-v2 vectors of a few sentences (as in FusionRankingTests), jittered.
import Foundation
import Kernels
@testable import Retrieval
import SightlineCore
import Store
import TestSupport
import XCTest

final class StreamScorerTests: XCTestCase {
    private var temporary: TemporaryDirectory!
    private var vectorizer: MiniLMTestVectorizer!

    override func setUpWithError() throws {
        temporary = try TemporaryDirectory(prefix: "scorer")
        vectorizer = try MiniLMTestVectorizer.required()
    }

    override func tearDownWithError() throws {
        temporary = nil
        FusionRanking.forceReference = false
    }

    static let sentences = [
        "the courier left a parcel at the door", "my neighbour is waiting outside", "the postman rang the bell twice",
        "a child is walking in the garden", "the driver parked on the pavement", "our dog is barking at the gate",
        "the plumber fixed the broken pipe", "someone is shouting in the street", "the teacher asked about the rent",
        "a tourist took the wrong bus",
    ]
    static let signs = ["OPEN", "NO PARKING", "FRESH BREAD", "EXIT", "BUS STOP", "PHARMACY"]
    static let captions = ["a man carries a box to the door", "a dog runs across the garden", "two people talk on the street"]
    static let labels = ["street", "car", "dog", "door", "garden", "bus", "person", "bicycle", "tree", "fence", "van", "cat"]

    /// The seeded index (external streams: no store behind it, so full text is given per query).
    func makeIndex() throws -> (WindowIndex, FusionRanking, evidenceIds: [Int64]) {
        let store = try Store(path: temporary.path("empty.sqlite"))
        let index = WindowIndex(store: store, model: vectorizer.model)
        let sentenceVectors = try vectorizer.vectors(Self.sentences)
        let signVectors = try vectorizer.vectors(Self.signs)
        let captionVectors = try vectorizer.vectors(Self.captions)
        var rng = SplitMix64(seed: 20_261_202)
        var id: Int64 = 0
        var textIds: [Int64] = []
        func jittered(_ v: [Float]) -> Data {
            var out = v.map { $0 + Float.random(in: -0.02...0.02, using: &rng) }
            let norm = out.reduce(0) { $0 + $1 * $1 }.squareRoot()
            out = out.map { $0 / norm }
            return Float16Blob.encode(out)
        }
        // Window spans per stream: (start, end) in ms.
        let busy: [(Int64, Int64)] = (0..<16_000).map { (Int64($0) * 2000, Int64($0) * 2000 + 2000) }
        var gappy: [(Int64, Int64)] = []
        var t: Int64 = 5_000_000
        for k in 0..<10_000 {
            let length: Int64 = [1000, 2000, 2000, 3000][k % 4]
            gappy.append((t, t + length))
            t += length + (k % 7 == 0 ? Int64(k % 5) * 1500 : 0)
            if k == 5000 { gappy.append((t, t + 9000)); t += 1000 } // long window: its centre lies after the next one's
        }
        let young: [(Int64, Int64)] = (0..<60).map { (Int64($0) * 2000, Int64($0) * 2000 + 2000) }
        for (n, (stream, spans, peopleShare)) in [("busy", busy, 0.6), ("gappy", gappy, 0.3), ("young", young, 0.5)].enumerated() {
            index.load(stream: stream) { emit in
                for (w, (start, end)) in spans.enumerated() {
                    let wid = Int64(n) * 10_000_000 + Int64(w) + 1
                    var rows: [StoredEvidence] = []
                    func add(_ m: Modality, _ s: Int64, _ e: Int64, text: String? = nil, confidence: Double? = nil, value: Double? = nil,
                             embedding: Data? = nil)
                    {
                        id += 1
                        rows.append(StoredEvidence(id: id, modality: m, startMs: s, endMs: e, text: text, confidence: confidence, value: value,
                                                   embeddingModel: embedding == nil ? nil : vectorizer.model, embedding: embedding))
                        if embedding != nil { textIds.append(id) }
                    }
                    if stream != "young" || w % 3 == 0 {
                        var left = 0.9
                        for _ in 0..<Int.random(in: 1...3, using: &rng) {
                            let p = Double.random(in: 0.05...max(0.06, left * 0.8), using: &rng)
                            left = max(0.1, left - p)
                            add(.label, start, end, text: Self.labels.randomElement(using: &rng)!, confidence: p)
                        }
                    }
                    if Double.random(in: 0..<1, using: &rng) < peopleShare {
                        let people = Int.random(in: 1...6, using: &rng)
                        for _ in 0..<min(people, 3) { add(.person, start, end, text: "person", confidence: 0.8, value: Double(people)) }
                        if Bool.random(using: &rng) { add(.face, start, end, text: "face", confidence: 0.9, value: Double(Int.random(in: 1...4, using: &rng))) }
                    }
                    if Int.random(in: 0..<10, using: &rng) == 0 { add(.motion, start, end, value: Double.random(in: 0...0.2, using: &rng)) }
                    if Int.random(in: 0..<4, using: &rng) == 0 {
                        // Speech stored with the window where it ended: some began one or two windows before.
                        let back = Int64([0, 0, 1500, 3500][Int.random(in: 0..<4, using: &rng)])
                        let k = Int.random(in: 0..<Self.sentences.count, using: &rng)
                        add(.speech, start + 100 - back, end - 100, text: Self.sentences[k], embedding: jittered(sentenceVectors[k]))
                    }
                    if Int.random(in: 0..<12, using: &rng) == 0 {
                        let k = Int.random(in: 0..<Self.signs.count, using: &rng)
                        add(.ocr, start, end + Int64.random(in: 0...6000, using: &rng), text: Self.signs[k], confidence: 0.9,
                            embedding: jittered(signVectors[k]))
                    }
                    if Int.random(in: 0..<20, using: &rng) == 0 {
                        let k = Int.random(in: 0..<Self.captions.count, using: &rng)
                        add(.caption, start, end + 8000, text: Self.captions[k], embedding: jittered(captionVectors[k]))
                    }
                    if rows.isEmpty { emit(WindowSignalRow(windowId: wid, windowStartMs: start, windowEndMs: end, evidence: nil)) }
                    for r in rows { emit(WindowSignalRow(windowId: wid, windowStartMs: start, windowEndMs: end, evidence: r)) }
                }
            }
        }
        return (index, FusionRanking(index: index, vectorizer: vectorizer), textIds)
    }

    static let questions = [
        "the courier left a parcel at the door", "someone delivered a package", "what was said about the rent?",
        "a dog in the garden", "a person", "two people", "a crowd of people", "how many people were there?",
        "what did the sign say?", "what did the sign say about bread?", "a van parked outside", "several faces",
        "something moving", "a man carrying a box", "when did the postman ring the bell?",
    ]

    /// The query's tables as `FusionRanking.answer` builds them, with exact-word scores on a
    /// seeded share of the text rows (the store behind this index is empty).
    func tables(_ fusion: FusionRanking, _ q: MomentQuery, textIds: [Int64], seed: UInt64) throws -> (QueryTables, [Signal], MomentQuery) {
        let p = try fusion.prepare(q)
        var t = p.tables
        var rng = SplitMix64(seed: seed)
        for id in textIds where Int.random(in: 0..<40, using: &rng) == 0 { t.fullText[id] = Double.random(in: 0.5...9, using: &rng) }
        return (t, p.signals, p.query)
    }

    func assertSame(_ fast: [Candidate], _ reference: [Candidate], _ what: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(fast.count, reference.count, "\(what): number of moments", file: file, line: line)
        for (a, b) in zip(fast, reference) {
            XCTAssertEqual(a.stream, b.stream, what, file: file, line: line)
            XCTAssertEqual(a.startMs, b.startMs, "\(what): start", file: file, line: line)
            XCTAssertEqual(a.endMs, b.endMs, "\(what): end", file: file, line: line)
            XCTAssertEqual(a.score, b.score, accuracy: 1e-6 * max(1, abs(b.score)), "\(what): score", file: file, line: line)
            XCTAssertEqual(a.people, b.people, what, file: file, line: line)
            XCTAssertEqual(a.items.map(\.evidenceId), b.items.map(\.evidenceId), "\(what): evidence ids", file: file, line: line)
            XCTAssertEqual(a.items.map(\.direct), b.items.map(\.direct), "\(what): evidence items", file: file, line: line)
            XCTAssertEqual(a.items.map(\.leading), b.items.map(\.leading), "\(what): leading items", file: file, line: line)
        }
    }

    func testFastScorerEqualsReference() throws {
        let (index, fusion, textIds) = try makeIndex()
        let entries = try index.entries(["busy", "gappy", "young"])
        XCTAssertEqual(entries.map { $0.1.signals.withLock { $0.count } }, [16_000, 10_001, 60])
        var compared = 0, nonEmpty = 0, centredSignals = 0
        for (k, text) in Self.questions.enumerated() {
            var queries = [MomentQuery(text: text, limit: 10), MomentQuery(text: text, limit: 3)]
            queries.append(MomentQuery(text: text, fromMs: 6_000_000, toMs: 14_000_000, limit: 10))
            for base in queries {
                let (t, enabled, q) = try tables(fusion, base, textIds: textIds, seed: UInt64(k))
                for (stream, entry) in entries {
                    var scratch = entry.scratch.withLock { $0 }
                    let (fast, reference) = entry.signals.withLock { s in
                        let scorer = StreamScorer(signals: s, tables: t, enabled: enabled, query: q)
                        return (scorer.candidates(stream: stream, limit: q.limit * 2, scratch: &scratch),
                                scorer.referenceCandidates(stream: stream, limit: q.limit * 2))
                    }
                    assertSame(fast, reference, "\"\(text)\" on \(stream), \(q.fromMs.map { "from \($0)" } ?? "all time"), limit \(q.limit)")
                    compared += 1
                    if !fast.isEmpty { nonEmpty += 1 }
                    // Each signal's attended values, centre and scale, bit for bit.
                    entry.signals.withLock { s in
                        let scorer = StreamScorer(signals: s, tables: t, enabled: enabled, query: q)
                        let dots = scorer.textDots()
                        var similarity = [Float](repeating: 0, count: s.count), present = [Bool](repeating: false, count: s.count)
                        var detail = [Int32](repeating: -1, count: s.count)
                        for signal in enabled {
                            let r = scorer.normalised(signal, dots, &similarity, &present, &detail)
                            let f = scorer.normalisedFast(signal, dots, &scratch)
                            XCTAssertEqual(r == nil, f == nil, "\(signal) \"\(text)\" on \(stream)")
                            guard let r, let f else { continue }
                            XCTAssertEqual(f.median, r.median, "\(signal) median, \"\(text)\" on \(stream)")
                            XCTAssertEqual(f.sigma, r.sigma, "\(signal) scale, \"\(text)\" on \(stream)")
                            let a = scratch.attended
                            XCTAssertEqual(a.index.prefix(a.count).map(Int.init), r.values.map(\.index), "\(signal) \"\(text)\" on \(stream)")
                            XCTAssertEqual(Array(a.value.prefix(a.count)), r.values.map(\.value), "\(signal) \"\(text)\" on \(stream)")
                            XCTAssertEqual(Array(a.detail.prefix(a.count)), r.values.map { detail[$0.source] }, "\(signal) \"\(text)\" on \(stream)")
                            if r.median > 0 { centredSignals += 1 }
                        }
                    }
                }
            }
        }
        XCTAssertEqual(compared, Self.questions.count * 3 * 3)
        // The comparison covers real answers and busy signals (centre above 0: people on the
        // busy stream, labels).
        XCTAssertGreaterThan(nonEmpty, compared / 2)
        XCTAssertGreaterThan(centredSignals, 5)
    }

    func testAnswersEqualReferenceThroughTheRanking() throws {
        let (_, fusion, _) = try makeIndex()
        for text in Self.questions {
            for q in [MomentQuery(text: text, limit: 10), MomentQuery(text: text, streams: ["gappy"], limit: 5)] {
                FusionRanking.forceReference = true
                let reference = try fusion.answer(q)
                FusionRanking.forceReference = false
                let fast = try fusion.answer(q)
                XCTAssertEqual(fast.answer, reference.answer, text)
                XCTAssertEqual(fast.moments.map(\.stream), reference.moments.map(\.stream), text)
                XCTAssertEqual(fast.moments.map(\.startMs), reference.moments.map(\.startMs), text)
                XCTAssertEqual(fast.moments.map(\.endMs), reference.moments.map(\.endMs), text)
                XCTAssertEqual(fast.moments.map(\.evidence), reference.moments.map(\.evidence), text)
                for (a, b) in zip(fast.moments, reference.moments) { XCTAssertEqual(a.score, b.score, accuracy: 1e-6 * max(1, abs(b.score)), text) }
            }
        }
    }

    /// Median and MAD without the zeros materialised, over a histogram and by quickselect,
    /// against the reference over every value.
    func testRobustFastEqualsReference() {
        var rng = SplitMix64(seed: 5)
        for (count, levels, zeros) in [(1, 1, 0), (2, 2, 1), (7, 3, 2), (10, 4, 10), (101, 5, 40), (1000, 700, 999),
                                       (1000, 3000, 500), (5000, 20, 2000), (4001, 5000, 0), (300, 1, 200)] {
            let values = (0..<count).map { _ in Double(Int.random(in: 1...levels, using: &rng)) / Double(levels) * 3 }
            let reference = StreamScorer.robust(values, zeros: zeros)
            var work: [Double] = []
            let fast = values.withUnsafeBufferPointer { StreamScorer.robustFast($0, zeros: zeros, work: &work) }
            XCTAssertEqual(fast.median, reference.median, "count \(count), levels \(levels), zeros \(zeros)")
            XCTAssertEqual(fast.mad, reference.mad, "count \(count), levels \(levels), zeros \(zeros)")
            let histogram = values.withUnsafeBufferPointer { Histogram($0, capacity: StreamScorer.histogramLevels) }
            XCTAssertEqual(histogram == nil, Set(values).count > StreamScorer.histogramLevels, "count \(count), levels \(levels)")
        }
        // One case worked by hand: 0 1 2 3 4 5 → median 2.5, deviations 2.5 1.5 0.5 0.5 1.5 2.5 → MAD 1.5.
        var work: [Double] = []
        let r = [5.0, 1, 4, 2, 3].withUnsafeBufferPointer { StreamScorer.robustFast($0, zeros: 1, work: &work) }
        XCTAssertEqual(r.median, 2.5)
        XCTAssertEqual(r.mad, 1.5)
    }

    /// The best `limit` runs, best first, ties in run order: what a stable sort's prefix gives.
    func testKeepIsAStableTopK() {
        var rng = SplitMix64(seed: 11)
        let runs = (0..<500).map { i in StreamScorer.Run(first: i, last: i, best: i, score: Double(Int.random(in: 0..<40, using: &rng)) / 4) }
        for limit in [1, 3, 20, 600] {
            var best: [StreamScorer.Run] = []
            for r in runs { StreamScorer.keep(r, in: &best, limit: limit) }
            let expected = runs.sorted { $0.score > $1.score }.prefix(limit)
            XCTAssertEqual(best.map(\.first), expected.map(\.first), "limit \(limit)")
        }
    }
}
