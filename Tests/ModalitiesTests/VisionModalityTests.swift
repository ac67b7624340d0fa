// The picture modalities as a stream runs them: real frames of real clips through the
// registry's descriptors with the real models, checked against the models called directly
// (same boxes, as fractions of the frame), plus the time spans, the counts, the label floor,
// the image embedding and the joining of a text line seen in consecutive frames.
import FaceDetector
import Foundation
import ImageLabels
import ImageOps
@testable import MediaIO
@testable import Modalities
import OCR
import PersonDetector
import SightlineCore
import TextEmbedder
import Store
import Synchronization
import TestSupport
import XCTest

final class VisionModalityTests: XCTestCase {
    private var setup: EncoderSetup { EncoderSetup.defaults(modelsDirectory: Fixtures.modelsDirectory) }

    private func requireModel(_ name: String, _ file: String) throws {
        try XCTSkipUnless(FileManager.default.fileExists(atPath: Fixtures.modelsDirectory + "/\(name)/\(file)"),
                          "\(name) not installed (Scripts/fetch-models \(name))")
    }

    /// The first `count` windows of a clip, frames sampled at 1 fps, rgb8 as the stream samples them.
    private func windows(_ clip: String, count: Int) throws -> [MediaWindow] {
        var o = MediaOptions()
        o.sampling = .fps(1)
        o.decodeAudio = false
        let source = try MediaSource(input: Fixtures.path(clip), options: o)
        var out: [MediaWindow] = []
        while out.count < count, let w = try source.nextWindow() { out.append(w) }
        return out
    }

    private func encoder(_ d: EncoderDescriptor) throws -> any WindowEncoder {
        guard let e = try d.prepare(setup).makeEncoder(streamId: "test") else { throw XCTSkip("\(d.name) turned off") }
        return e
    }

    func testPeopleAreTheDetectorsBoxesAsFractionsWithCountsAndFrameSpans() async throws {
        try requireModel("ssdlite-person", "frozen_inference_graph.pb")
        let people = try encoder(.people)
        XCTAssertEqual(people.input.video?.maxFps, EncoderDescriptor.peopleFps)
        let detector = try PersonDetector(modelFile: Fixtures.modelsDirectory + "/ssdlite-person/frozen_inference_graph.pb")
        var seen = 0
        for window in try windows("media/carphone.mp4", count: 3) {
            let evidence = try await people.encode(window)
            for (i, frame) in window.frames.enumerated() {
                let expected = try detector.detect(try RGBImage(width: frame.width, height: frame.height, pixels: frame.rgb))
                let found = evidence.filter { $0.startMs == frame.ptsMs }
                XCTAssertEqual(found.count, expected.count, "frame at \(frame.ptsMs) ms")
                let end = i + 1 < window.frames.count ? window.frames[i + 1].ptsMs : window.endMs
                for (e, d) in zip(found, expected) {
                    XCTAssertEqual(e.modality, .person)
                    XCTAssertEqual(e.text, "person")
                    XCTAssertEqual(e.endMs, end)
                    XCTAssertEqual(e.value, Double(expected.count))
                    XCTAssertEqual(e.confidence ?? 0, Double(d.score), accuracy: 1e-6)
                    let r = try XCTUnwrap(e.region)
                    XCTAssertEqual(r.x0, Double(d.box.x0) / Double(frame.width), accuracy: 1e-6)
                    XCTAssertEqual(r.y1, Double(min(d.box.y1, Float(frame.height))) / Double(frame.height), accuracy: 1e-6)
                }
                seen += expected.count
            }
        }
        // The clip is a man talking on a phone in a car: in every sampled frame.
        XCTAssertGreaterThanOrEqual(seen, 3)
    }

    func testFacesAreClippedToTheFrame() async throws {
        try requireModel("mtcnn", "onet.pt")
        let faces = try encoder(.faces)
        let evidence = try await faces.encode(try windows("media/carphone.mp4", count: 1)[0])
        XCTAssertFalse(evidence.isEmpty, "carphone shows one face")
        for e in evidence {
            XCTAssertEqual(e.modality, .face)
            XCTAssertEqual(e.text, "face")
            let r = try XCTUnwrap(e.region)
            for v in [r.x0, r.y0, r.x1, r.y1] { XCTAssertTrue((0...1).contains(v), "\(r)") }
            XCTAssertGreaterThan(r.area, 0.05, "the face fills a good part of the 176x144 frame")
        }
    }

    func testLabelsKeepTheFloorAndEveryFrameGetsAnImageEmbedding() async throws {
        try requireModel("mobilenet-v2", ImageClassifier.weightsFile)
        let labels = try encoder(.labels)
        let window = try windows("media/carphone.mp4", count: 1)[0]
        XCTAssertFalse(window.frames.isEmpty)
        let evidence = try await labels.encode(window)
        let images = evidence.filter { $0.modality == .image }
        XCTAssertEqual(images.count, window.frames.count)
        XCTAssertEqual(images.first?.embedding?.vector.count, 1280)
        XCTAssertEqual(images.first?.embedding?.model, "mobilenet-v2")
        let named = evidence.filter { $0.modality == .label }
        XCTAssertFalse(named.isEmpty, "a man in a suit and tie has confident ImageNet labels")
        for e in named { XCTAssertGreaterThanOrEqual(e.confidence ?? 0, Double(LabelsAnalyser.minProbability)) }
        XCTAssertLessThanOrEqual(named.count, LabelsAnalyser.topK * window.frames.count)
    }

    func testALargeMovingRegionIsLabelledWhereItIs() async throws {
        try requireModel("mobilenet-v2", ImageClassifier.weightsFile)
        let labels = try encoder(.labels)
        // A still grey scene, then the carphone picture (176x144) appears at (300, 200).
        let carphone = try MediaSource.frame(input: Fixtures.path("vision/carphone.ppm"), atMs: 0).frame
        let (w, h) = (640, 480)
        var scene = [UInt8](repeating: 128, count: w * h * 3)
        let empty = VideoFrame(ptsMs: 0, width: w, height: h, layout: .rgb8, rgb: scene)
        for y in 0..<carphone.height {
            let row = carphone.rgb[(y * carphone.width * 3)..<((y + 1) * carphone.width * 3)]
            scene.replaceSubrange(((200 + y) * w + 300) * 3..<((200 + y) * w + 300 + carphone.width) * 3, with: row)
        }
        let visit = VideoFrame(ptsMs: 2000, width: w, height: h, layout: .rgb8, rgb: scene)
        let first = try await labels.encode(MediaWindow(index: 0, startMs: 0, endMs: 2000, frames: [empty], audio: []))
        XCTAssertTrue(first.allSatisfy { $0.region == nil }, "nothing moves in the first frame")
        let second = try await labels.encode(MediaWindow(index: 1, startMs: 2000, endMs: 4000, frames: [visit], audio: []))
        let regional = second.filter { $0.modality == .label && $0.region != nil }
        XCTAssertFalse(regional.isEmpty, "the picture that appeared is labelled on its own: \(second.map { ($0.text, $0.region) })")
        let pasted = Region(pixels: 300, 200, 476, 344, width: w, height: h)
        for e in regional { XCTAssertGreaterThan(e.region?.iou(pasted) ?? 0, 0.7, "\(e.region!)") }
        // Its labels are those of the picture itself (the crop adds at most a cell of grey border).
        let direct = try ImageClassifier(directory: Fixtures.modelsDirectory + "/mobilenet-v2")
            .classify(try RGBImage(width: carphone.width, height: carphone.height, pixels: carphone.rgb)).map(\.name)
        XCTAssertTrue(direct.contains(regional[0].text ?? ""), "\(regional[0].text ?? "") not in \(direct)")
    }

    func testATextLineStillOnScreenIsOneStoredRowWithItsWholeSpan() async throws {
        try requireModel("ppocr-v5-mobile", TextReader.files.rec)
        let ocr = try encoder(.ocr)
        let page = try MediaSource.frame(input: Fixtures.path("ocr/phototest.pgm"), atMs: 0).frame
        let other = try MediaSource.frame(input: Fixtures.path("ocr/dtrb_demo_1.ppm"), atMs: 0).frame
        func window(_ i: Int, _ f: VideoFrame) -> MediaWindow {
            var f = f
            f.ptsMs = Int64(i) * 2000
            return MediaWindow(index: i, startMs: Int64(i) * 2000, endMs: Int64(i + 1) * 2000, frames: [f], audio: [])
        }
        let first = try await ocr.encode(window(0, page))
        let second = try await ocr.encode(window(1, page))
        let third = try await ocr.encode(window(2, other))
        XCTAssertGreaterThanOrEqual(first.count, 6, "phototest has 8 lines of text")
        XCTAssertTrue(first.allSatisfy { !$0.continues })
        XCTAssertEqual(second.map(\.text), first.map(\.text))
        XCTAssertTrue(second.allSatisfy(\.continues), "the same page in the next frame continues every line")
        XCTAssertTrue(third.allSatisfy { !$0.continues }, "another picture's lines are new")

        let dir = try TemporaryDirectory(prefix: "ocr-store")
        let store = try Store(path: dir.url.appendingPathComponent("s.db").path)
        for (i, ev) in [first, second, third].enumerated() {
            try store.append(WindowRecord(streamId: "cam", startMs: Int64(i) * 2000, endMs: Int64(i + 1) * 2000, evidence: ev), committedMs: 0)
        }
        let rows = try store.timeline(stream: "cam", fromMs: nil, toMs: nil, limit: 10).flatMap(\.evidence)
        let pageRows = rows.filter { r in first.contains { $0.text == r.text } }
        XCTAssertEqual(pageRows.count, first.count, "each line of the page stored once")
        XCTAssertTrue(pageRows.allSatisfy { $0.startMs == 0 && $0.endMs == 4000 }, "\(pageRows.map { ($0.startMs, $0.endMs) })")
        XCTAssertEqual(rows.count, first.count + third.count)
        XCTAssertEqual(pageRows.first?.region, first.first?.region)
    }

    func testModelNoneTurnsTheModalityOffAndAMissingModelSaysHowToFetchIt() throws {
        var off = setup
        off.models["people"] = .name("none")
        XCTAssertNil(try EncoderDescriptor.people.prepare(off).makeEncoder(streamId: "x"))
        let missing = EncoderSetup.defaults(modelsDirectory: "/nonexistent/models")
        XCTAssertThrowsError(try EncoderDescriptor.faces.prepare(missing)) { error in
            let text = "\(error)"
            XCTAssertTrue(text.contains("cannot load the faces model 'mtcnn'"), text)
            XCTAssertTrue(text.contains("sightline models fetch mtcnn"), text)
            XCTAssertTrue(text.contains("models.faces = \"none\""), text)
        }
    }

    func testTextEmbeddingsOfSpeechAndNewScreenTextOnly() async throws {
        try requireModel("minilm-l6-v2", "model.safetensors")
        let enricher = try XCTUnwrap(try EnricherDescriptor.textEmbedding.prepare(setup))
        let given = [
            Evidence(modality: .speech, startMs: 0, endMs: 900, text: " And so my fellow Americans"),
            Evidence(modality: .label, startMs: 0, endMs: 1000, text: "sports car", confidence: 0.4),
            Evidence(modality: .ocr, startMs: 0, endMs: 1000, text: "EXIT 12", continues: true),
            Evidence(modality: .ocr, startMs: 0, endMs: 1000, text: "Main Street"),
            Evidence(modality: .motion, startMs: 0, endMs: 1000, value: 0.2),
        ]
        let out = try await enricher.enrich(given, streamId: "s")
        XCTAssertEqual(out.map(\.text), given.map(\.text), "every piece kept, in order")
        XCTAssertEqual(out.map { $0.embedding != nil }, [true, false, false, true, false])
        let direct = try TextEmbedder(directory: URL(fileURLWithPath: Fixtures.modelsDirectory + "/minilm-l6-v2"))
        // Embedded together in one batch, alone here: equal up to the summation order.
        func cosine(_ a: [Float]?, _ b: [Float]) -> Float { zip(a ?? [], b).reduce(0) { $0 + $1.0 * $1.1 } }
        XCTAssertGreaterThan(cosine(out[0].embedding?.vector, direct.embed(" And so my fellow Americans")), 0.99999)
        XCTAssertGreaterThan(cosine(out[3].embedding?.vector, direct.embed("Main Street")), 0.99999)
        XCTAssertEqual(out[0].embedding?.model, "minilm-l6-v2")
        XCTAssertEqual(out[0].embedding?.vector.count, 384)
        var off = setup
        off.models["text_embedding"] = .name("none")
        XCTAssertNil(try EnricherDescriptor.textEmbedding.prepare(off))
    }

    func testLargePicturesAreAnalysedAtTheBoundedSize() throws {
        let big = VideoFrame(ptsMs: 0, width: 4000, height: 1000, layout: .rgb8,
                             rgb: [UInt8](repeating: 90, count: 4000 * 1000 * 3))
        let picture = try FrameEncoder.picture(big)
        XCTAssertEqual(picture.width, FrameEncoder.maxSide)
        XCTAssertEqual(picture.height, 480)
        let small = VideoFrame(ptsMs: 0, width: 3, height: 2, layout: .rgb8, rgb: [UInt8](repeating: 1, count: 18))
        XCTAssertEqual(try FrameEncoder.picture(small).width, 3)
    }

    /// `frame` (rgb8) pasted at (`x`, `y`) into a `width` × `height` grey scene.
    private func scene(_ frame: VideoFrame?, at x: Int, _ y: Int, width w: Int, height h: Int, ptsMs: Int64) -> VideoFrame {
        var rgb = [UInt8](repeating: 128, count: w * h * 3)
        if let f = frame {
            for row in 0..<f.height {
                let src = f.rgb[(row * f.width * 3)..<((row + 1) * f.width * 3)]
                rgb.replaceSubrange(((y + row) * w + x) * 3..<((y + row) * w + x + f.width) * 3, with: src)
            }
        }
        return VideoFrame(ptsMs: ptsMs, width: w, height: h, layout: .rgb8, rgb: rgb)
    }

    func testFacesAreSearchedWhereThePersonDetectorSawPeople() async throws {
        try requireModel("mtcnn", "onet.pt")
        try requireModel("ssdlite-person", "frozen_inference_graph.pb")
        let linked = FrameEncoder.facesWithinPeople([try encoder(.people), try encoder(.faces)])
        // The man of carphone (176x144) in a 640x480 grey scene: his person box and its margin
        // are a small part of the frame, so only that part is searched for faces.
        let carphone = try MediaSource.frame(input: Fixtures.path("vision/carphone.ppm"), atMs: 0).frame
        let visit = MediaWindow(index: 0, startMs: 0, endMs: 2000,
                                frames: [scene(carphone, at: 300, 200, width: 640, height: 480, ptsMs: 0)], audio: [])
        var evidence: [Evidence] = []
        for e in linked { evidence += try await e.encode(visit) }
        let people = evidence.filter { $0.modality == .person }, faces = evidence.filter { $0.modality == .face }
        XCTAssertEqual(people.count, 1, "\(people.map(\.region))")
        XCTAssertLessThan(FacesAnalyser.searchAreas(people.compactMap(\.region)).reduce(0) { $0 + $1.area }, FacesAnalyser.wholeFrameShare)
        // The same face the whole-frame search finds.
        let whole = try await encoder(.faces).encode(visit)
        XCTAssertEqual(faces.count, 1)
        XCTAssertEqual(whole.count, 1)
        XCTAssertGreaterThan(faces[0].region?.iou(whole[0].region!) ?? 0, 0.9, "\(faces[0].region!) vs \(whole[0].region!)")
        XCTAssertEqual(faces[0].confidence ?? 0, whole[0].confidence ?? 1, accuracy: 0.05)
        // No one in the next frame: no face is searched for, none found.
        let empty = MediaWindow(index: 1, startMs: 2000, endMs: 4000,
                                frames: [scene(nil, at: 0, 0, width: 640, height: 480, ptsMs: 2000)], audio: [])
        var next: [Evidence] = []
        for e in linked { next += try await e.encode(empty) }
        XCTAssertTrue(next.isEmpty, "\(next)")
    }

    func testPersonBoxesWidenAndOverlappingAreasJoin() {
        let areas = FacesAnalyser.searchAreas([Region(x0: 0.1, y0: 0.1, x1: 0.2, y1: 0.3), Region(x0: 0.22, y0: 0.1, x1: 0.3, y1: 0.3),
                                               Region(x0: 0.8, y0: 0.8, x1: 0.9, y1: 1.0)])
        XCTAssertEqual(areas.count, 2)
        // The first two widened by a fifth of their size overlap and are searched as one.
        XCTAssertEqual(areas[0].x0, 0.08, accuracy: 1e-9)
        XCTAssertEqual(areas[0].x1, 0.316, accuracy: 1e-9)
        XCTAssertEqual(areas[0].y0, 0.06, accuracy: 1e-9)
        XCTAssertEqual(areas[0].y1, 0.34, accuracy: 1e-9)
        XCTAssertEqual(areas[1].x0, 0.78, accuracy: 1e-9)
        XCTAssertEqual(areas[1].y1, 1.0, accuracy: 1e-9, "clipped to the frame")
    }

    func testTextIsReadAgainOnlyWhereThePictureChanged() async throws {
        try requireModel("ppocr-v5-mobile", TextReader.files.rec)
        let ocr = try encoder(.ocr)
        let page = try MediaSource.frame(input: Fixtures.path("ocr/phototest.pgm"), atMs: 0).frame
        // The page on the left of a wider grey picture; then a dark block appears in the grey
        // margin on the right, away from every line; then the page is gone.
        let first = scene(page, at: 0, 0, width: 960, height: 480, ptsMs: 0)
        var changed = first
        changed.ptsMs = 2000
        for y in 100..<300 { for x in 760..<900 { for c in 0..<3 { changed.rgb[(y * 960 + x) * 3 + c] = 20 } } }
        func window(_ i: Int, _ f: VideoFrame) -> MediaWindow {
            MediaWindow(index: i, startMs: Int64(i) * 2000, endMs: Int64(i + 1) * 2000, frames: [f], audio: [])
        }
        let a = try await ocr.encode(window(0, first))
        let b = try await ocr.encode(window(1, changed))
        let c = try await ocr.encode(window(2, scene(nil, at: 0, 0, width: 960, height: 480, ptsMs: 4000)))
        XCTAssertGreaterThanOrEqual(a.count, 6, "phototest has 8 lines of text")
        XCTAssertEqual(b.map(\.text), a.map(\.text), "the lines away from the change are given again")
        XCTAssertEqual(b.map(\.region), a.map(\.region))
        XCTAssertTrue(b.allSatisfy(\.continues))
        XCTAssertEqual(b.first?.startMs, 2000)
        XCTAssertTrue(c.isEmpty, "the page is gone: \(c.map(\.text))")
        let area = try XCTUnwrap(FrameChange.changedArea(MotionEncoder.thumbnail(first), MotionEncoder.thumbnail(changed)))
        XCTAssertGreaterThan(area.x0, 0.7)
        XCTAssertLessThan(area.area, 0.2)
        XCTAssertNil(FrameChange.changedArea(MotionEncoder.thumbnail(first), MotionEncoder.thumbnail(first)))
    }

    /// More than half of the frame changes away from a page of text: the frame is read whole,
    /// and the page's lines, detected again over unchanged cells, keep their text unread.
    func testLinesOverUnchangedCellsAreNotRecognisedAgain() async throws {
        try requireModel("ppocr-v5-mobile", TextReader.files.rec)
        let ocr = try encoder(.ocr)
        let analyser = try XCTUnwrap((ocr as? FrameEncoder)?.analyser as? ScreenTextAnalyser)
        let page = try MediaSource.frame(input: Fixtures.path("ocr/phototest.pgm"), atMs: 0).frame
        let first = scene(page, at: 0, 0, width: 1600, height: 480, ptsMs: 0)
        var changed = first
        changed.ptsMs = 2000
        for y in 0..<480 { for x in 720..<1600 { for c in 0..<3 { changed.rgb[(y * 1600 + x) * 3 + c] = 20 } } }
        let areas = FrameChange.changedAreas(MotionEncoder.thumbnail(first), MotionEncoder.thumbnail(changed))
        XCTAssertGreaterThan(areas.reduce(0) { $0 + $1.area }, ScreenTextAnalyser.wholeFrameShare, "read whole")
        func window(_ i: Int, _ f: VideoFrame) -> MediaWindow {
            MediaWindow(index: i, startMs: Int64(i) * 2000, endMs: Int64(i + 1) * 2000, frames: [f], audio: [])
        }
        let a = try await ocr.encode(window(0, first))
        XCTAssertEqual(analyser.reusedLines, 0)
        let b = try await ocr.encode(window(1, changed))
        XCTAssertGreaterThanOrEqual(a.count, 6, "phototest has 8 lines of text")
        XCTAssertEqual(b.map(\.text), a.map(\.text))
        XCTAssertTrue(b.allSatisfy(\.continues))
        XCTAssertEqual(analyser.reusedLines, a.count, "every line kept its text without the recogniser")
    }

    /// Changes far apart are separate areas to read; changes a cell or two apart are one.
    func testChangedCellsAreGroupedIntoSeparateAreas() {
        let w = MotionEncoder.thumbWidth, h = MotionEncoder.thumbHeight
        let before = [UInt8](repeating: 100, count: w * h)
        func changed(_ cells: [(Int, Int)]) -> [UInt8] {
            var t = before
            for (x, y) in cells { t[y * w + x] = 200 }
            return t
        }
        // Two cars at opposite corners: two small areas, not one box over the whole frame.
        let corners = FrameChange.changedAreas(before, changed([(1, 1), (2, 1), (1, 2), (60, 33), (61, 33)]))
        XCTAssertEqual(corners.count, 2)
        XCTAssertLessThan(corners.reduce(0) { $0 + $1.area }, 0.05)
        XCTAssertEqual(corners[0], Region(x0: 0, y0: 0, x1: 4.0 / Double(w), y1: 4.0 / Double(h)), "widened by a cell, clipped")
        let box = FrameChange.changedArea(before, changed([(1, 1), (2, 1), (1, 2), (60, 33), (61, 33)]))
        XCTAssertEqual(box, Region(x0: 0, y0: 0, x1: 63.0 / Double(w), y1: 35.0 / Double(h)), "the bounding box of both")
        // Words of one line two unchanged cells apart stay one area.
        XCTAssertEqual(FrameChange.changedAreas(before, changed([(10, 20), (11, 20), (14, 20), (17, 20)])).count, 1)
        // A group inside another's box (an arm's bend around it) is joined to it.
        let bend = (10...20).map { ($0, 10) } + (11...20).map { (20, $0) }
        XCTAssertEqual(FrameChange.changedAreas(before, changed(bend + [(14, 16)])).count, 1)
        XCTAssertEqual(FrameChange.changedAreas(before, changed([(10, 10), (14, 10)])).count, 2)
        XCTAssertTrue(FrameChange.changedAreas(before, before).isEmpty)
        // An earlier line an area touches is read whole; areas that then overlap are one.
        let line = Region(x0: 0.1, y0: 0.5, x1: 0.9, y1: 0.55)
        let areas = [Region(x0: 0.05, y0: 0.45, x1: 0.15, y1: 0.52), Region(x0: 0.85, y0: 0.45, x1: 0.95, y1: 0.52)]
        XCTAssertEqual(ScreenTextAnalyser.widened(areas, by: [line]), [Region(x0: 0.05, y0: 0.45, x1: 0.95, y1: 0.55)])
        XCTAssertEqual(ScreenTextAnalyser.widened(areas, by: []), areas)
    }

    /// Counts its calls; each frame's evidence carries the call that made it.
    private final class CountingAnalyser: FrameAnalyser {
        let calls = Mutex(0)
        func analyse(_ image: RGBImage, span: FrameSpan) throws -> [Evidence] {
            let n = calls.withLock { $0 += 1; return $0 }
            return [Evidence(modality: .person, startMs: span.startMs, endMs: span.endMs, text: "person", value: Double(n))]
        }
    }

    func testAStillFrameGetsTheLastAnalysedFramesEvidenceAgain() async throws {
        let counting = CountingAnalyser()
        let still = StillFrames()
        let encoder = FrameEncoder(name: "people", input: EncoderInput(video: FrameRequest(maxFps: 1)), analyser: counting, still: still)
        func grey(_ level: UInt8, at ptsMs: Int64, width: Int = 320) -> VideoFrame {
            VideoFrame(ptsMs: ptsMs, width: width, height: 180, layout: .rgb8, rgb: [UInt8](repeating: level, count: width * 180 * 3))
        }
        // The same picture; a change below the motion threshold; the same change again, now
        // above the threshold against the last analysed frame; another size.
        let frames = [grey(100, at: 0), grey(100, at: 1000), grey(115, at: 2000), grey(130, at: 3000), grey(130, at: 4000, width: 240)]
        let evidence = try await encoder.encode(MediaWindow(index: 0, startMs: 0, endMs: 5000, frames: frames, audio: []))
        XCTAssertEqual(counting.calls.withLock { $0 }, 3)
        XCTAssertEqual(still.reused, 2)
        XCTAssertEqual(evidence.map(\.value), [1, 1, 1, 2, 3], "which analysis each frame's evidence came from")
        XCTAssertEqual(evidence.map(\.startMs), [0, 1000, 2000, 3000, 4000], "given again, re-timed to its own frame")
        XCTAssertEqual(evidence.map(\.endMs), [1000, 2000, 3000, 4000, 5000])
        // The registry's picture modalities reuse still frames, except on-screen text, which
        // re-reads the changed part of a frame itself.
        try requireModel("ssdlite-person", "frozen_inference_graph.pb")
        try requireModel("mtcnn", "onet.pt")
        try requireModel("mobilenet-v2", ImageClassifier.weightsFile)
        try requireModel("ppocr-v5-mobile", TextReader.files.rec)
        for d in [EncoderDescriptor.people, .faces, .labels, .clip, .ocr] {
            let prepared = try XCTUnwrap(try d.prepare(setup) as? PreparedFrameModel, d.name)
            XCTAssertEqual(prepared.reusesStillFrames, d.name != "ocr", d.name)
        }
    }

}
