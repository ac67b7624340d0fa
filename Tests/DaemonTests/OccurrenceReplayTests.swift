// Standing queries over a 10-minute replay of a real clip with known occurrences
// (Tests/Fixtures/captions/replay-10min.mp4: a small picture crosses a still scene for 14 s
// eight times, 56 s apart), read through the real reader, motion encoder, store and matcher
// at full speed with a test clock: every true occurrence yields exactly one start and one end,
// a query that never occurs yields none, and the false events per hour are reported.
import Foundation
import Logging
import MediaIO
import Modalities
import Retrieval
import SightlineCore
import Store
import TestSupport
import XCTest
@testable import Daemon

final class OccurrenceReplayTests: XCTestCase {
    /// The true occurrences in media ms: [40 + 70k, 54 + 70k) s, k = 0...7.
    static let truth: [Range<Int64>] = (0..<8).map { (k: Int) -> Range<Int64> in
        let start = Int64(40_000) + Int64(70_000) * Int64(k)
        return start..<(start + 14_000)
    }

    func testEachTrueOccurrenceStartsAndEndsOnceAndANeverQueryNever() async throws {
        let dir = try TemporaryDirectory(prefix: "replay")
        let store = try Store(path: dir.path("s.sqlite"))
        var c = StreamConfig(id: "yard", source: Fixtures.path("captions/replay-10min.mp4"))
        c.encoders = ["motion"]
        c.fps = 1
        c.windowMs = 2000
        c.queries = [StandingQuery(text: "motion", minScore: 0), StandingQuery(text: "giraffe", minScore: 0)]
        // The same query through the API, asking for the key frame.
        let subscription = try store.addSubscription(text: "motion", streams: ["yard"], minScore: 0, nowMs: 0,
                                                     occurrence: OccurrenceOptions(keyFrame: true))
        let clock = ManualClock()
        let started = ContinuousClock.now
        let p = Pipeline(config: c, store: store, readers: MediaReaderFactory(), encoders: [MotionEncoder()],
                         clock: clock, logger: quietLogger, queueCapacity: 4, decodeThreads: 1)
        await p.run()
        let wall = ContinuousClock.now - started
        XCTAssertEqual(p.runtime.snapshot.state, .finished)
        XCTAssertEqual(try store.windowCount(stream: "yard"), 300)

        let events = try store.events(afterId: 0, limit: 10_000)
        var file: [(kind: EventKind, o: Occurrence)] = [], api: [(kind: EventKind, o: Occurrence)] = []
        for e in events {
            let o: Occurrence
            switch e.payload {
            case let .occurrenceStart(x), let .occurrenceEnd(x): o = x
            default: continue
            }
            if e.subscriptionId == subscription { api.append((e.kind, o)) } else { file.append((e.kind, o)) }
        }
        XCTAssertTrue(file.allSatisfy { $0.o.query == "motion" }, "'giraffe' never occurs: \(file.filter { $0.o.query != "motion" })")

        // Pair starts and ends; each pair is one occurrence, matched to the truth by overlap.
        func occurrences(_ list: [(kind: EventKind, o: Occurrence)]) -> (pairs: [Range<Int64>], unpaired: Int) {
            var pairs: [Range<Int64>] = []
            var open: Occurrence? = nil
            var unpaired = 0
            for (kind, o) in list {
                if kind == .occurrenceStart {
                    if open != nil { unpaired += 1 }
                    open = o
                } else if let s = open {
                    XCTAssertEqual(o.startMs, s.startMs, "an end belongs to its start")
                    pairs.append(o.startMs..<o.endMs)
                    open = nil
                } else { unpaired += 1 }
            }
            if open != nil { unpaired += 1 }
            return (pairs, unpaired)
        }
        let (pairs, unpaired) = occurrences(file)
        XCTAssertEqual(unpaired, 0)
        var matched = [Int](repeating: 0, count: Self.truth.count)
        var falseEvents = 0
        for r in pairs {
            let hits = Self.truth.indices.filter { Self.truth[$0].overlaps(r) }
            if hits.isEmpty { falseEvents += 2 }
            for h in hits { matched[h] += 1 }
        }
        XCTAssertEqual(matched, [Int](repeating: 1, count: Self.truth.count), "one start and one end per true occurrence: \(pairs)")
        // Boundaries: the first window above begins it; it ends with the last window above.
        for (r, t) in zip(pairs, Self.truth) {
            XCTAssertLessThanOrEqual(abs(r.lowerBound - t.lowerBound), 2000, "start \(r) vs \(t)")
            XCTAssertLessThanOrEqual(abs(r.upperBound - t.upperBound), 4000, "end \(r) vs \(t)")
        }
        let falsePerHour = Double(falseEvents) * 3_600_000 / 600_000
        XCTAssertEqual(falsePerHour, 0)

        // The API subscription saw the same occurrences, with a JPEG of the key frame on each start.
        let apiPairs = occurrences(api)
        XCTAssertEqual(apiPairs.pairs, pairs)
        let frames = api.filter { $0.kind == .occurrenceStart }.compactMap(\.o.keyFrame)
        XCTAssertEqual(frames.count, 8)
        let jpeg = try XCTUnwrap(frames.first.flatMap { Data(base64Encoded: $0.base64) })
        XCTAssertEqual(Array(jpeg.prefix(3)), [0xFF, 0xD8, 0xFF], "a JPEG file")
        XCTAssertEqual(Array(jpeg.suffix(2)), [0xFF, 0xD9])
        XCTAssertEqual(frames.first?.width, 160)
        XCTAssertTrue(api.filter { $0.kind == .occurrenceEnd }.allSatisfy { $0.o.keyFrame == nil })
        print("replay: 600 s in \(wall), \(pairs.count) occurrences of \(Self.truth.count), false events per hour \(falsePerHour), key frame \(jpeg.count) bytes")
    }

    /// A standing query whose words no evidence holds, answered by fusion: the development
    /// set's front-door clip (Tests/Fixtures/devset, people in view at 12-20 s, 34-40 s and
    /// 52-66 s, by construction) through the real people, faces and labels models and the
    /// text embedder, with the daemon's scorer. Each visit is one occurrence; a query that
    /// never holds raises nothing.
    func testAFusedStandingQueryFindsEachVisitWithoutItsWords() async throws {
        for f in ["minilm-l6-v2/model.safetensors", "ssdlite-person/frozen_inference_graph.pb", "mtcnn/onet.pt",
                  "mobilenet-v2/mobilenet_v2-b0353104.pth"] {
            try XCTSkipUnless(FileManager.default.fileExists(atPath: Fixtures.modelsDirectory + "/" + f), "\(f) not installed (Scripts/fetch-models)")
        }
        let visits: [Range<Int64>] = [12_000..<20_000, 34_000..<40_000, 52_000..<66_000]
        let dir = try TemporaryDirectory(prefix: "fused-replay")
        let store = try Store(path: dir.path("s.sqlite"))
        var c = StreamConfig(id: "door", source: Fixtures.path("devset/frontdoor.mp4"))
        c.encoders = ["people", "faces", "labels"]
        c.visionGate = .always
        c.windowMs = 2000
        c.queries = [StandingQuery(text: "someone at the door", minScore: 0), StandingQuery(text: "a giraffe", minScore: 0)]
        let encoders = RegistryEncoders(setup: EncoderSetup.defaults(modelsDirectory: Fixtures.modelsDirectory))
        let fusion = try XCTUnwrap(encoders.fusionRanking(over: store), "the text model loads")
        let p = Pipeline(config: c, store: store, readers: MediaReaderFactory(), encoders: try encoders.makeEncoders(for: c),
                         enrichers: try encoders.makeEnrichers(), sinks: [FusionSink(index: fusion.index)],
                         queryScorer: FusedWindowScorer(fusion: fusion), clock: ManualClock(), logger: quietLogger,
                         queueCapacity: 4, decodeThreads: 1)
        await p.run()
        XCTAssertEqual(p.runtime.snapshot.state, .finished)
        XCTAssertEqual(p.runtime.snapshot.encoderErrors, 0)
        XCTAssertEqual(try store.windowCount(stream: "door"), 40)
        // No evidence holds the query's words: whatever occurs, fusion found.
        XCTAssertTrue(try TextRanking(store: store).moments(MomentQuery(text: "someone at the door", streams: ["door"])).isEmpty)

        var open: Occurrence? = nil
        var occurrences: [Range<Int64>] = []
        for e in try store.events(afterId: 0, limit: 1000) {
            switch e.payload {
            case let .occurrenceStart(o):
                XCTAssertEqual(o.query, "someone at the door", "'a giraffe' never occurs")
                XCTAssertNil(open, "one start before each end")
                XCTAssertGreaterThanOrEqual(o.score, 0.5, "a fused score is a relevance probability of at least 0.5")
                XCTAssertFalse(o.evidence.isEmpty, "the start says what was seen")
                open = o
            case let .occurrenceEnd(o):
                XCTAssertEqual(o.startMs, open?.startMs, "an end belongs to its start")
                occurrences.append(o.startMs..<o.endMs)
                open = nil
            default: continue
            }
        }
        XCTAssertNil(open, "every occurrence ended")
        print("fused replay: occurrences \(occurrences) of visits \(visits)")
        XCTAssertEqual(occurrences.count, visits.count, "one occurrence per visit: \(occurrences)")
        for (o, v) in zip(occurrences, visits) {
            XCTAssertTrue(o.overlaps(v), "\(o) is the visit \(v)")
            XCTAssertLessThanOrEqual(abs(o.lowerBound - v.lowerBound), 4000, "start \(o) vs \(v)")
            XCTAssertLessThanOrEqual(abs(o.upperBound - v.upperBound), 6000, "end \(o) vs \(v)")
        }
    }

    func testAnOpenOccurrenceSurvivesARestart() throws {
        let dir = try TemporaryDirectory(prefix: "restart")
        let store = try Store(path: dir.path("s.sqlite"))
        let q = StandingQuery(text: "parcel", minScore: 0)
        func window(_ i: Int, _ text: String?) -> WindowRecord {
            WindowRecord(streamId: "door", startMs: Int64(i) * 2000, endMs: Int64(i + 1) * 2000,
                         evidence: text.map { [Evidence(modality: .speech, startMs: Int64(i) * 2000, endMs: Int64(i) * 2000 + 1500, text: $0)] } ?? [])
        }
        func commit(_ m: StandingQueryMatcher, _ i: Int, _ text: String?) throws {
            let r = window(i, text)
            try store.append(r, committedMs: Int64(i)) { id in try m.matches(CommittedWindow(id: id, record: r, committedMs: Int64(i))) }
        }
        let first = StandingQueryMatcher(streamId: "door", queries: [q], store: store)
        for i in 0..<4 { try commit(first, i, i >= 2 ? "a parcel at the door" : "nothing") }
        // The daemon restarts with the occurrence open: a new matcher rebuilds that from the store.
        let second = StandingQueryMatcher(streamId: "door", queries: [q], store: store)
        for i in 4..<6 { try commit(second, i, "the parcel is still there") }
        for i in 6..<10 { try commit(second, i, nil) }
        let kinds = try store.events(afterId: 0, limit: 100).map(\.kind)
        XCTAssertEqual(kinds, [.occurrenceStart, .occurrenceEnd], "no second start after the restart")
        guard case let .occurrenceEnd(o)? = try store.events(afterId: 0, limit: 100).last?.payload else { return XCTFail() }
        XCTAssertEqual(o.startMs, 4000)
        XCTAssertEqual(o.endMs, 12_000)
    }
}
