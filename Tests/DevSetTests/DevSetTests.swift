// The development set end to end: each clip of Tests/Fixtures/devset is indexed once with
// FileIndex (every default modality, the real models), every annotated query is answered
// through Memory.moments, and R@1, R@5 (temporal IoU ≥ 0.5) and mean IoU per query kind must
// not fall below Tests/Fixtures/devset/baseline.json by more than its stated tolerance.
// `Scripts/devset/evaluate` runs this test and prints the table; with --write-baseline it
// commits the run's scores as the new baseline.
//
// Environment: SIGHTLINE_DEVSET_REPORT=PATH writes this run's report (the baseline's format)
// to PATH, and SIGHTLINE_DEVSET_OUTCOMES=PATH every query's outcome (what was returned).
import Foundation
import Logging
import XCTest
import Daemon
import Modalities
import Retrieval
import SightlineCore
import Store
import TestSupport

final class DevSetTests: XCTestCase {
    func testQueriesAnswerAtLeastAsWellAsTheBaseline() async throws {
        let modelFiles = ["whisper-base/model.bin", "minilm-l6-v2/model.safetensors", "ssdlite-person/frozen_inference_graph.pb",
                          "ppocr-v5-mobile/ppocrv5_rec.onnx", "mtcnn/onet.pt", "mobilenet-v2/mobilenet_v2-b0353104.pth"]
        for f in modelFiles {
            try XCTSkipUnless(FileManager.default.fileExists(atPath: Fixtures.modelsDirectory + "/" + f),
                              "\(f) not installed (Scripts/fetch-models)")
        }
        let set = try DevSet.load()
        XCTAssertGreaterThanOrEqual(set.queries.count, 60)
        let dir = try TemporaryDirectory(prefix: "devset")
        // SIGHTLINE_DEVSET_STORE keeps the index between runs (a complete index of an unchanged
        // clip is reused), so ranking changes can be scored without indexing again.
        let kept = ProcessInfo.processInfo.environment["SIGHTLINE_DEVSET_STORE"].flatMap { $0.isEmpty ? nil : $0 }
        let store = try Store(path: kept ?? dir.path("devset.sqlite"))
        var logger = Logger(label: "devset")
        logger.logLevel = .warning
        let encoders = RegistryEncoders(setup: EncoderSetup.defaults(modelsDirectory: Fixtures.modelsDirectory))
        let index = FileIndex(encoders: encoders, logger: logger)
        var streams: [String: String] = [:]
        for clip in set.clips.keys.sorted() {
            let path = try XCTUnwrap(set.path(clip: clip))
            let started = Date()
            let result = try await index.index(path: path, into: store)
            XCTAssertEqual(result.stageErrors, 0, "\(clip): a stage failed")
            XCTAssertEqual(result.windows, Int(set.clips[clip]!.durationMs / 2000), "\(clip): 2 s windows")
            print(String(format: "devset: indexed %@ (%d windows) in %.1f s", clip, result.windows, Date().timeIntervalSince(started)))
            streams[clip] = result.streamId
        }

        let memory = StoreMemory(store: store, fusion: encoders.fusionRanking(over: store))
        var outcomes: [DevSetOutcome] = []
        for q in set.queries {
            let stream = try XCTUnwrap(streams[q.clip], "\(q.id): unknown clip \(q.clip)")
            let moments = try await memory.moments(MomentQuery(text: q.text, streams: [stream], limit: DevSet.limit))
            outcomes.append(DevSetOutcome(query: q, spans: moments.map { ($0.startMs, $0.endMs) }))
        }
        let report = DevSetReport(outcomes: outcomes, kinds: set.kinds)
        print("devset:\n" + report.table(order: set.kinds))

        let env = ProcessInfo.processInfo.environment
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        if let path = env["SIGHTLINE_DEVSET_REPORT"], !path.isEmpty { try encoder.encode(report).write(to: URL(fileURLWithPath: path)) }
        if let path = env["SIGHTLINE_DEVSET_OUTCOMES"], !path.isEmpty { try encoder.encode(outcomes).write(to: URL(fileURLWithPath: path)) }

        let baseline = try JSONDecoder().decode(DevSetReport.self,
                                                from: Data(contentsOf: URL(fileURLWithPath: Fixtures.path("devset/baseline.json"))))
        let shortfalls = report.shortfalls(against: baseline)
        XCTAssert(shortfalls.isEmpty, "below the baseline:\n" + shortfalls.joined(separator: "\n"))
    }

    func testScoringByTemporalIoU() {
        XCTAssertEqual(DevSet.iou(0, 2000, 1000, 3000), 1.0 / 3.0, accuracy: 1e-12)
        XCTAssertEqual(DevSet.iou(0, 2000, 2000, 4000), 0)
        XCTAssertEqual(DevSet.iou(0, 0, 0, 4000), 0)
        let q = DevSet.Query(id: "q", clip: "c", kind: "k", text: "t", ranges: [[0, 4000], [10_000, 12_000]],
                             annotation: "construction", note: "", count: nil)
        // First moment misses (IoU 0.25 with [10 s, 12 s)), the second hits [0, 4 s) at 0.5.
        let o = DevSetOutcome(query: q, spans: [(11_500, 13_500), (0, 2000), (0, 4000)])
        XCTAssertFalse(o.hitAt1)
        XCTAssertTrue(o.hitAt5)
        XCTAssertEqual(o.iou, 0.5 / 3.5, accuracy: 1e-12)
        let none = DevSetOutcome(query: q, spans: [])
        XCTAssertFalse(none.hitAt5)
        XCTAssertEqual(none.iou, 0)
        let report = DevSetReport(outcomes: [o, none], kinds: ["k"])
        XCTAssertEqual(report.scores["k"]?.r5, 0.5)
        var better = report
        // R@1 0 against 1.0 is two queries of two down (the tolerance is one), R@5 0.5 against
        // 1.0 one down (tolerated), mIoU 0.07 against 0.5 more than 0.05 down.
        better.scores["k"]!.r1 = 1.0
        better.scores["k"]!.r5 = 1.0
        better.scores["all"]!.miou = 0.5
        XCTAssertEqual(report.shortfalls(against: better).map { String($0.prefix(8)) }, ["all: mIo", "k: R@1 0"])
        XCTAssertEqual(report.shortfalls(against: report), [String]())
    }
}
