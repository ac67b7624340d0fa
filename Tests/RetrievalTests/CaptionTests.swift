// Timeline segments and captions on synthetic window sequences: where boundaries go (visual
// change against the stream's own distances, people arriving and leaving, speech and motion
// edges, the minimum and maximum lengths) and what the caption line says.
import Foundation
import Retrieval
import SightlineCore
import Store
import TestSupport
import XCTest

final class CaptionTests: XCTestCase {
    /// A unit vector of `dim` entries pointing mostly along axis `axis`, with a little of the
    /// next axis scaled by `jitter` (small frame-to-frame noise).
    static func scene(_ axis: Int, jitter: Double = 0, dim: Int = 16) -> [Float] {
        var v = [Float](repeating: 0, count: dim)
        v[axis % dim] = 1
        v[(axis + 1) % dim] = Float(jitter)
        let n = v.reduce(0) { $0 + $1 * $1 }.squareRoot()
        return v.map { $0 / n }
    }

    /// 2 s windows from `start` seconds.
    static func window(_ i: Int, scene: Int, jitter: Double = 0, people: Int = 0, faces: Int = 0, speaking: Bool = false,
                       motion: Double = 0) -> SegmentWindow
    {
        SegmentWindow(startMs: Int64(i) * 2000, endMs: Int64(i + 1) * 2000, image: Self.scene(scene, jitter: jitter),
                      people: people, faces: faces, speaking: speaking, motion: motion)
    }

    func run(_ windows: [SegmentWindow], options: SegmenterOptions = SegmenterOptions()) -> [Segment] {
        var s = Segmenter(options: options)
        var out: [Segment] = []
        for w in windows { out += s.push(w) }
        if let last = s.finish() { out.append(last) }
        return out
    }

    func testVisualChangeCutsWhereTheSceneChanges() {
        // 20 windows of scene 0 with a little noise, then 10 of scene 5.
        let jitters = [0.0, 0.05, 0.02, 0.08, 0.03]
        let ws = (0..<30).map { i in Self.window(i, scene: i < 20 ? 0 : 5, jitter: jitters[i % jitters.count]) }
        let segs = run(ws)
        XCTAssertEqual(segs.map(\.startMs), [0, 40_000])
        XCTAssertEqual(segs.map(\.endMs), [40_000, 60_000])
        XCTAssertEqual(segs.map(\.cause), [.visualChange, .end])
    }

    func testThresholdFollowsTheStreamsOwnDistances() {
        // A busy scene whose frames differ by 0.2-0.3 each window must not cut every window;
        // a jump far beyond that must.
        var options = SegmenterOptions()
        options.maxSegmentMs = 600_000
        var s = Segmenter(options: options)
        var segs: [Segment] = []
        for i in 0..<30 {
            // Alternates between two nearby directions: distance ~0.2-0.3.
            let jitter = i % 2 == 0 ? 0.0 : 0.75
            segs += s.push(Self.window(i, scene: 0, jitter: jitter))
        }
        XCTAssertEqual(segs.count, 0, "ordinary variation of this stream is no scene change")
        XCTAssertEqual(s.visualThreshold, 0.2, accuracy: 1e-3, "the median step; its spread is 0")
        segs += s.push(Self.window(30, scene: 8))
        XCTAssertEqual(segs.map(\.cause), [.visualChange])
        XCTAssertEqual(segs.first?.endMs, 60_000)
    }

    func testPeopleArrivalNeedsTwoWindowsAndCutsWhereItBegan() {
        // Nobody for 5 windows, a one-window false detection at 6, then two people from 10 to 19, then nobody.
        let ws = (0..<25).map { i -> SegmentWindow in
            let people = i == 6 ? 1 : (10..<20).contains(i) ? 2 : 0
            return Self.window(i, scene: 0, people: people)
        }
        let segs = run(ws)
        XCTAssertEqual(segs.map(\.startMs), [0, 20_000, 40_000])
        XCTAssertEqual(segs.map(\.cause), [.people, .people, .end])
    }

    func testSpeechAndMotionEdgesAndMinimumLength() {
        var ws = (0..<20).map { Self.window($0, scene: 0, speaking: (8..<16).contains($0)) }
        // Motion in the first 2 windows of speech: it ends 2 windows later, but cutting there
        // would leave a 4 s segment, under a 6 s minimum, so the segment goes on.
        ws[8].motion = 0.3
        ws[9].motion = 0.3
        var options = SegmenterOptions()
        options.minSegmentMs = 6_000
        let segs = run(ws, options: options)
        XCTAssertEqual(segs.map(\.startMs), [0, 16_000, 32_000])
        XCTAssertEqual(segs.map(\.cause), [.speech, .speech, .end])
    }

    func testMaximumLengthClosesAStaticScene() {
        let segs = run((0..<45).map { Self.window($0, scene: 0) })
        XCTAssertEqual(segs.map(\.startMs), [0, 60_000])
        XCTAssertEqual(segs.map(\.cause), [.maxLength, .end])
    }

    func testCaptionSaysWhoWhatWrittenAndSaid() {
        var ws = (0..<4).map { Self.window($0, scene: 0, people: $0 == 3 ? 3 : 2, faces: $0 == 0 ? 0 : 1) }
        ws[0].labels = [.init(name: "desk", probability: 0.6), .init(name: "monitor", probability: 0.3), .init(name: "mouse", probability: 0.1)]
        ws[1].labels = [.init(name: "desk", probability: 0.5), .init(name: "monitor", probability: 0.4)]
        ws[2].labels = [.init(name: "German shepherd", probability: 0.2)]
        ws[0].text = [.init(text: "EXIT", confidence: 0.9), .init(text: "|", confidence: 0.9)]
        ws[1].text = [.init(text: "exit.", confidence: 0.95), .init(text: "Fire exit", confidence: 0.4)]
        ws[2].text = [.init(text: "OPEN 24 HOURS", confidence: 0.8), .init(text: "OPEN", confidence: 0.8)]
        ws[3].speech = ["We'll be there at ten with the delivery,", "We'll be there at ten with the delivery,",
                        "please leave the gate open for the van."]
        let caption = CaptionComposer().caption(ws)
        XCTAssertEqual(caption, #"two people, up to three, a face; looks like a desk or a monitor; text "EXIT", "OPEN 24 HOURS"; says "We'll be there at ten with the delivery, please leave the gate …""#)
    }

    func testCaptionOfAQuietSegmentIsNilAndOnePersonIsAPerson() {
        let quiet = (0..<3).map { Self.window($0, scene: 0) }
        XCTAssertNil(CaptionComposer().caption(quiet))
        var one = quiet
        one[1].people = 1
        one[2].labels = [.init(name: "Granny Smith", probability: 0.9)]
        XCTAssertEqual(CaptionComposer().caption(one), "a person; looks like a Granny Smith")
    }

    func testSegmentWindowFromEvidence() {
        let e: [Evidence] = [
            Evidence(modality: .image, startMs: 0, endMs: 1, embedding: Embedding(model: "mobilenet-v2", vector: [3, 4])),
            Evidence(modality: .image, startMs: 1000, endMs: 1001, embedding: Embedding(model: "mobilenet-v2", vector: [3, 4])),
            Evidence(modality: .image, startMs: 0, endMs: 1, embedding: Embedding(model: "clip", vector: [1, 0, 0])),
            Evidence(modality: .person, startMs: 0, endMs: 1, text: "person", confidence: 0.9),
            Evidence(modality: .person, startMs: 1000, endMs: 1001, text: "person", confidence: 0.9),
            Evidence(modality: .person, startMs: 1000, endMs: 1001, text: "person", confidence: 0.8),
            Evidence(modality: .label, startMs: 0, endMs: 1, text: "desk", confidence: 0.4),
            Evidence(modality: .label, startMs: 1000, endMs: 1001, text: "desk", confidence: 0.7),
            Evidence(modality: .label, startMs: 0, endMs: 1, text: "dog", confidence: 0.9, region: Region(x0: 0, y0: 0, x1: 0.5, y1: 0.5)),
            Evidence(modality: .motion, startMs: 0, endMs: 2000, value: 0.04),
            Evidence(modality: .speech, startMs: 200, endMs: 1800, text: " hello there "),
            Evidence(modality: .ocr, startMs: 0, endMs: 1, text: "EXIT", confidence: 0.9),
        ]
        let w = SegmentWindow(startMs: 0, endMs: 2000, evidence: e)
        XCTAssertEqual(w.image?.count, 2)
        XCTAssertEqual(Double(w.image?[0] ?? 0), 0.6, accuracy: 1e-6)
        XCTAssertEqual(w.people, 2)
        XCTAssertEqual(w.faces, 0, "frames were analysed and showed no face")
        XCTAssertEqual(w.labels, [.init(name: "desk", probability: 0.7)], "regions' labels are not the scene's")
        XCTAssertEqual(w.motion, 0.04)
        XCTAssertTrue(w.speaking)
        XCTAssertEqual(w.speech, ["hello there"])
        XCTAssertEqual(w.text.map(\.text), ["EXIT"])
        XCTAssertNil(SegmentWindow(startMs: 0, endMs: 2000, evidence: []).people, "no frame analysed: unknown")
    }

    func testCaptionSinkStoresCaptionsWithTheClosingWindowAndAtTheEnd() async throws {
        let dir = try TemporaryDirectory(prefix: "captions")
        let store = try Store(path: dir.path("s.sqlite"))
        let sink = CaptionSink(streamId: "door", store: store)
        func evidence(_ i: Int) -> [Evidence] {
            let start = Int64(i) * 2000
            var e = [Evidence(modality: .image, startMs: start, endMs: start + 1,
                              embedding: Embedding(model: "mobilenet-v2", vector: Self.scene(0)))]
            if (5..<12).contains(i) {
                e += [Evidence(modality: .person, startMs: start, endMs: start + 1, text: "person", confidence: 0.9, value: 1)]
            }
            if i == 7 { e.append(Evidence(modality: .ocr, startMs: start, endMs: start + 1, text: "PARCEL", confidence: 0.9)) }
            if i == 14 { e.append(Evidence(modality: .ocr, startMs: start, endMs: start + 1, text: "BYE", confidence: 0.9)) }
            return e
        }
        for i in 0..<16 {
            let r = WindowRecord(streamId: "door", startMs: Int64(i) * 2000, endMs: Int64(i + 1) * 2000, evidence: evidence(i))
            let id = try store.append(r, committedMs: Int64(i))
            try await sink.windowCommitted(CommittedWindow(id: id, record: r, committedMs: Int64(i)))
        }
        try await sink.streamEnded()
        let windows = try store.timeline(stream: "door", fromMs: nil, toMs: nil, limit: 100)
        let captions = windows.flatMap { w in w.evidence.filter { $0.modality == .caption }.map { (w.startMs, $0) } }
        // The person arrived at window 5 (confirmed at 6: the first segment, with nothing to
        // say, has no caption) and left at 12 (confirmed at 13, where the caption is stored);
        // the last segment is closed at the end and stored with the last window.
        XCTAssertEqual(captions.map(\.0), [26_000, 30_000])
        XCTAssertEqual(captions.map(\.1.startMs), [10_000, 24_000])
        XCTAssertEqual(captions.map(\.1.endMs), [24_000, 32_000])
        XCTAssertEqual(captions.map(\.1.text), [#"a person; text "PARCEL""#, #"text "BYE""#])
        let found = try TextRanking(store: store).moments(MomentQuery(text: "person parcel", streams: ["door"]))
        XCTAssertEqual(found.first?.startMs, 10_000, "captions are searchable")
    }

    func testSpeechAddedToTheLastWindowAtTheEndIsInTheLastCaption() async throws {
        let dir = try TemporaryDirectory(prefix: "captions")
        let store = try Store(path: dir.path("s.sqlite"))
        let sink = CaptionSink(streamId: "door", store: store)
        var last: CommittedWindow? = nil
        for i in 0..<4 {
            let start = Int64(i) * 2000
            let r = WindowRecord(streamId: "door", startMs: start, endMs: start + 2000, evidence: [
                Evidence(modality: .image, startMs: start, endMs: start + 1, embedding: Embedding(model: "mobilenet-v2", vector: Self.scene(0))),
                Evidence(modality: .ocr, startMs: start, endMs: start + 1, text: "OPEN", confidence: 0.9),
            ])
            let id = try store.append(r, committedMs: Int64(i))
            last = CommittedWindow(id: id, record: r, committedMs: Int64(i))
            try await sink.windowCommitted(last!)
        }
        // The input ends: the speech encoder's last utterance is added to the last window.
        let speech = Evidence(modality: .speech, startMs: 5_000, endMs: 7_900, text: "we are open until nine")
        var amended = try XCTUnwrap(last)
        amended.record.evidence.append(speech)
        try store.addEvidence([speech], toWindow: amended.id, streamId: "door")
        try await sink.evidenceAdded([speech], to: amended)
        try await sink.streamEnded()
        let captions = try store.timeline(stream: "door", fromMs: nil, toMs: nil, limit: 10)
            .flatMap { $0.evidence.filter { $0.modality == .caption } }
        XCTAssertEqual(captions.count, 1)
        XCTAssertTrue(captions.first?.text?.contains("we are open until nine") == true, "\(captions)")
    }
}

final class OccurrenceTrackerTests: XCTestCase {
    func track(_ scores: [Double?], options: OccurrenceOptions = OccurrenceOptions(), minScore: Double = 0)
        -> [OccurrenceTracker.Transition]
    {
        var t = OccurrenceTracker(query: "q", stream: "s", minScore: minScore, options: options)
        var out: [OccurrenceTracker.Transition] = []
        for (i, s) in scores.enumerated() {
            if let tr = t.update(s.map { WindowScore(score: $0, evidence: ["e\(i)"]) }, startMs: Int64(i) * 2000,
                                 endMs: Int64(i + 1) * 2000) { out.append(tr) }
        }
        return out
    }

    func testOneStartAndOneEndPerOccurrenceWithGaps() {
        // A match at 3 alone (1 of 3: no start), then 10, 11, 13, 14 (a one-window gap inside),
        // then nothing: start at window 11 (2 of 3), end after 3 misses (15, 16, 17).
        var scores = [Double?](repeating: nil, count: 25)
        for i in [3, 10, 11, 13, 14] { scores[i] = 2.5 }
        scores[13] = 3.0
        let t = track(scores)
        XCTAssertEqual(t.count, 2)
        guard case let .start(s) = t[0], case let .end(e) = t[1] else { return XCTFail("\(t)") }
        XCTAssertEqual(s.startMs, 20_000)
        XCTAssertEqual(s.endMs, 24_000)
        XCTAssertEqual(s.windows, 2)
        XCTAssertEqual(e.startMs, 20_000)
        XCTAssertEqual(e.endMs, 30_000)
        XCTAssertEqual(e.windows, 4)
        XCTAssertEqual(e.score, 3.0)
        XCTAssertEqual(e.evidence, ["e13"])
    }

    func testDenseScoresCalibrateOnTheStreamsLevel() {
        // A scorer that scores every window around 0.3 ± 0.05 (min_score 0): while the level
        // warms up (10 scores) it is 0, so an occurrence begins at once and ends 3 windows
        // after the level is known; after that only a run of 0.9 is one.
        var scores: [Double?] = (0..<60).map { 0.3 + 0.05 * sin(Double($0)) }
        scores += [0.9, 0.95, 0.9, 0.3, 0.31, 0.29, 0.3]
        let t = track(scores)
        XCTAssertEqual(t.count, 4, "\(t)")
        guard t.count == 4, case let .start(warm) = t[0], case let .end(warmEnd) = t[1], case let .start(s) = t[2],
              case let .end(e) = t[3] else { return XCTFail("\(t)") }
        XCTAssertEqual(warm.startMs, 0)
        XCTAssertEqual(warmEnd.endMs, 20_000, "ends with the 10th window, the last before the level")
        XCTAssertEqual(s.startMs, 120_000)
        XCTAssertEqual(e.endMs, 126_000)
        XCTAssertGreaterThan(s.threshold, 0.35)
        XCTAssertLessThan(s.threshold, 0.6)
    }

    func testMinScoreAndCustomHysteresis() {
        var scores = [Double?](repeating: nil, count: 12)
        for i in 2..<8 { scores[i] = 1.0 }
        XCTAssertEqual(track(scores, minScore: 2).count, 0, "below min_score")
        let t = track(scores, options: OccurrenceOptions(enterHits: 4, enterWindows: 4, leaveMisses: 1))
        guard t.count == 2, case let .start(s) = t[0], case let .end(e) = t[1] else { return XCTFail("\(t)") }
        XCTAssertEqual(s.startMs, 4000)
        XCTAssertEqual(s.endMs, 12_000, "confirmed by the 4th window")
        XCTAssertEqual(e.endMs, 16_000)
    }
}
