// The person detector against TensorFlow running the same frozen graph
// (Scripts/golden/ssdlite_golden.py → Tests/Fixtures/vision/person): anchors, pre-processing,
// the network's raw outputs, boxes and scores after NMS on committed frames, and person counts
// on every sampled frame of the committed real clips. Also batch-norm folding, the topology
// check, and pictures of absurd sizes.
import Foundation
import ImageOps
import Kernels
import MediaIO
@testable import ModelIO
@testable import PersonDetector
import TestSupport
import XCTest

final class PersonDetectorTests: XCTestCase {
    static let folder = Fixtures.path("vision/person")

    struct Golden: Decodable {
        struct Detection: Decodable { let box: [Float]; let score: Float } // box [x0, y0, x1, y1] pixels
        struct Frame: Decodable {
            let file: String
            let width: Int
            let height: Int
            let detections: [Detection] // TensorFlow's, score ≥ detectionsMinScore
            let preprocessed_indices: [Int] // into TensorFlow's (300, 300, 3) input
            let preprocessed_values: [Float]
        }
        struct ClipFrame: Decodable { let checksum: Int64; let count: Int; let scores: [Float] }
        struct Clip: Decodable { let file: String; let fps: Double; let frames: [ClipFrame] }
        struct Post: Decodable {
            let iou_threshold: Float; let score_threshold: Float; let max_per_class: Int; let max_total: Int
            let box_coder_scales: [Float]
        }
        let tensorflow: String
        let postprocessing: Post
        let detections_min_score: Float
        let count_threshold: Float
        let frames: [Frame]
        let raw_frame: String
        let clips: [Clip]
    }

    static func golden() throws -> Golden {
        try JSONDecoder().decode(Golden.self, from: Data(contentsOf: URL(fileURLWithPath: folder + "/ssdlite_golden.json")))
    }

    static func floats(_ name: String) throws -> [Float] {
        let data = try Data(contentsOf: URL(fileURLWithPath: folder + "/" + name))
        return data.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) } // little-endian f32
    }

    static var modelPath: String { Fixtures.modelsDirectory + "/ssdlite-person/frozen_inference_graph.pb" }

    func detector(file: StaticString = #filePath, line: UInt = #line) throws -> PersonDetector {
        guard FileManager.default.fileExists(atPath: Self.modelPath) else {
            throw XCTSkip("ssdlite-person is not installed (Scripts/fetch-models ssdlite-person)")
        }
        return try PersonDetector(modelFile: Self.modelPath)
    }

    /// Decodes a committed PNG frame (lossless: the same bytes TensorFlow was given).
    static func picture(_ file: String) throws -> RGBImage {
        var options = MediaOptions()
        options.sampling = .everyFrame
        options.decodeAudio = false
        let source = try MediaSource(input: folder + "/" + file, options: options)
        while let window = try source.nextWindow() {
            if let f = window.frames.first { return try RGBImage(width: f.width, height: f.height, pixels: f.rgb) }
        }
        throw XCTSkip("no frame decoded from \(file)")
    }

    static func checksum(_ pixels: [UInt8]) -> Int64 {
        var s: Int64 = 0
        for (i, p) in pixels.enumerated() { s &+= Int64(p) * Int64(i % 251 + 1) }
        return s
    }

    // MARK: - Pieces

    func testAnchorsEqualTheGraphs() throws {
        let ours = SSDAnchorLayout().anchors()
        let theirs = try Self.floats("ssdlite_anchors.f32")
        XCTAssertEqual(ours.count, 1917 * 4)
        XCTAssertEqual(ours.count, theirs.count)
        let maxDiff = zip(ours, theirs).map { abs($0 - $1) }.max() ?? .infinity
        XCTAssertLessThan(maxDiff, 1e-6, "anchors differ from the graph's by \(maxDiff)")
    }

    func testPostprocessingConstantsReadFromTheGraph() throws {
        let d = try detector()
        let g = try Self.golden().postprocessing
        XCTAssertEqual(d.postprocessing.iouThreshold, g.iou_threshold)
        XCTAssertEqual(d.postprocessing.scoreThreshold, g.score_threshold)
        XCTAssertEqual(d.postprocessing.maxPerClass, g.max_per_class)
        XCTAssertEqual(d.postprocessing.maxTotal, g.max_total)
        let s = d.postprocessing.boxCoderScales
        XCTAssertEqual([s.y, s.x, s.h, s.w], g.box_coder_scales)
        XCTAssertEqual([s.y, s.x, s.h, s.w], [10, 10, 5, 5])
    }

    func testPreprocessingEqualsTensorFlows() throws {
        let side = SSDLiteBlueprint.inputSize
        for frame in try Self.golden().frames {
            let picture = try Self.picture(frame.file)
            XCTAssertEqual(picture.width, frame.width)
            let input = UnsafeMutablePointer<Float>.allocate(capacity: 3 * side * side) // (300, 300, 3), TensorFlow's layout
            defer { input.deallocate() }
            ResizeBilinear.normalised(picture, outHeight: side, outWidth: side, into: input)
            var maxDiff: Float = 0
            for (i, v) in zip(frame.preprocessed_indices, frame.preprocessed_values) { maxDiff = max(maxDiff, abs(input[i] - v)) }
            XCTAssertLessThan(maxDiff, 1e-6, "\(frame.file): resized input differs by \(maxDiff)")
        }
    }

    func testBatchNormFoldingIsEquivalent() throws {
        // Real layers of the graph: convolution then FusedBatchNorm with the graph's constants,
        // computed directly from TensorFlow's (k, k, in, out) weights, against the folded layer
        // run on the kernels, on a pseudo-random channels-last input. SAME padding both ways.
        guard FileManager.default.fileExists(atPath: Self.modelPath) else { throw XCTSkip("model not installed") }
        let graph = try TensorFlowGraph(path: Self.modelPath)
        let loader = GraphLoader(graph: graph)
        let m = "FeatureExtractor/MobilenetV2"
        let cases: [(scope: String, depthwise: Bool, cin: Int, cout: Int, k: Int, stride: Int, input: String)] = [
            ("\(m)/Conv", false, 3, 32, 3, 2, "Preprocessor/sub"),
            ("\(m)/expanded_conv/depthwise", true, 32, 32, 3, 1, "\(m)/Conv/Relu6"),
            ("\(m)/expanded_conv_1/depthwise", true, 96, 96, 3, 2, "\(m)/expanded_conv_1/expand/Relu6"),
            ("\(m)/expanded_conv/project", false, 32, 16, 1, 1, "\(m)/expanded_conv/depthwise/Relu6"),
        ]
        var rng = SystemRandomNumberGenerator()
        let side = 12
        for c in cases {
            let layer = try loader.conv(scope: c.scope, depthwise: c.depthwise, in: c.cin, out: c.cout, kernel: c.k, stride: c.stride,
                                        side: side, input: c.input, relu6: false)
            let tf = try graph.floats(c.depthwise ? "\(c.scope)/depthwise_weights" : "\(c.scope)/weights")
            let p = try ["gamma", "beta", "moving_mean", "moving_variance"].map { try graph.floats("\(c.scope)/BatchNorm/\($0)") }
            let eps = graph.node(named: "\(c.scope)/BatchNorm/FusedBatchNorm")?.attributes["epsilon"]?.float ?? 0.001
            let x = (0..<(side * side * c.cin)).map { _ in Float.random(in: -1...1, using: &rng) }
            let out = layer.outSize, pad = max((out - 1) * c.stride + c.k - side, 0) / 2
            var expected = [Float](repeating: 0, count: out * out * c.cout)
            for oy in 0..<out { for ox in 0..<out { for o in 0..<c.cout {
                var acc: Double = 0
                for ky in 0..<c.k { for kx in 0..<c.k {
                    let iy = oy * c.stride - pad + ky, ix = ox * c.stride - pad + kx
                    if iy < 0 || iy >= side || ix < 0 || ix >= side { continue }
                    if c.depthwise {
                        acc += Double(x[(iy * side + ix) * c.cin + o] * tf[(ky * c.k + kx) * c.cin + o])
                    } else {
                        for i in 0..<c.cin { acc += Double(x[(iy * side + ix) * c.cin + i] * tf[((ky * c.k + kx) * c.cin + i) * c.cout + o]) }
                    }
                } }
                let bn = (Float(acc) - p[2][o]) / (p[3][o] + eps).squareRoot() * p[0][o] + p[1][o]
                expected[(oy * out + ox) * c.cout + o] = bn
            } } }
            var got = [Float](repeating: .nan, count: expected.count)
            var cols = [Float](repeating: 0, count: max(layer.columnsCount, 1))
            try got.withUnsafeMutableBufferPointer { g in
                try cols.withUnsafeMutableBufferPointer { try layer.run(x, into: g.baseAddress!, columns: $0.baseAddress!, pool: ThreadPool(threads: 1)) }
            }
            let maxDiff = zip(got, expected).map { abs($0 - $1) / max(1, abs($1)) }.max() ?? .infinity
            XCTAssertLessThan(maxDiff, 1e-4, "\(c.scope): folded layer differs from conv + batch norm by \(maxDiff)")
        }
    }

    // MARK: - Against TensorFlow

    func testRawOutputsEqualTensorFlows() throws {
        let d = try detector()
        let g = try Self.golden()
        let raw = try d.rawOutputs(try Self.picture(g.raw_frame))
        for (name, ours, file) in [("box encodings", raw.boxEncodings, "ssdlite_raw_box_encodings.f32"),
                                   ("class logits", raw.classLogits, "ssdlite_raw_class_logits.f32")] {
            let theirs = try Self.floats(file)
            XCTAssertEqual(ours.count, theirs.count, name)
            let maxDiff = zip(ours, theirs).map { abs($0 - $1) }.max() ?? .infinity
            print("raw \(name): max |ours - TensorFlow| = \(maxDiff)")
            XCTAssertLessThan(maxDiff, 1e-4, "\(name) differ from TensorFlow's by \(maxDiff)")
        }
    }

    func testReferenceKernelsGiveTheSameRawOutputs() throws {
        let d = try detector()
        let g = try Self.golden()
        let picture = try Self.picture(g.raw_frame)
        let fast = try d.rawOutputs(picture)
        KernelConfig.forceReference = true
        defer { KernelConfig.forceReference = false }
        let slow = try d.rawOutputs(picture)
        let maxDiff = zip(fast.boxEncodings + fast.classLogits, slow.boxEncodings + slow.classLogits).map { abs($0 - $1) }.max() ?? .infinity
        XCTAssertLessThan(maxDiff, 1e-4, "optimised and reference kernels differ by \(maxDiff)")
    }

    func testDetectionsEqualTensorFlows() throws {
        let d = try detector()
        let g = try Self.golden()
        var worstIoU: Float = 1, worstScore: Float = 0, compared = 0
        for frame in g.frames {
            let ours = try d.detect(try Self.picture(frame.file), scoreThreshold: g.detections_min_score)
            XCTAssertEqual(ours.count, frame.detections.count, "\(frame.file): detections above \(g.detections_min_score)")
            for (o, t) in zip(ours, frame.detections) {
                let tb = Box(x0: t.box[0], y0: t.box[1], x1: t.box[2], y1: t.box[3])
                worstIoU = min(worstIoU, o.box.iou(tb))
                worstScore = max(worstScore, abs(o.score - t.score))
                XCTAssertGreaterThanOrEqual(o.box.iou(tb), 0.99, "\(frame.file): \(o) vs TensorFlow \(t)")
                XCTAssertEqual(o.score, t.score, accuracy: 1e-3, "\(frame.file)")
                compared += 1
            }
        }
        print("detections: \(compared) compared, worst IoU \(worstIoU), worst |dscore| \(worstScore)")
        XCTAssertGreaterThan(compared, 3)
    }

    func testPersonCountsOnRealClipsEqualTensorFlows() throws {
        let d = try detector()
        let g = try Self.golden()
        var frames = 0, people = 0
        for clip in g.clips {
            var byChecksum: [Int64: Golden.ClipFrame] = [:]
            for f in clip.frames { byChecksum[f.checksum] = f }
            var options = MediaOptions()
            options.sampling = .fps(clip.fps)
            options.decodeAudio = false
            let source = try MediaSource(input: Fixtures.path(clip.file), options: options)
            var sampled = 0
            while let window = try source.nextWindow() {
                for f in window.frames {
                    let picture = try RGBImage(width: f.width, height: f.height, pixels: f.rgb)
                    guard let theirs = byChecksum[Self.checksum(f.rgb)] else {
                        XCTFail("\(clip.file) @ \(f.ptsMs) ms: frame not among TensorFlow's (decoded differently)")
                        continue
                    }
                    let ours = try d.detect(picture, scoreThreshold: g.count_threshold)
                    // A score within 1e-3 of the threshold may fall either side of it (TensorFlow gave
                    // one such score, on one frame of bikes.mp4); that frame's count is not compared.
                    let ambiguous = theirs.scores.contains { abs($0 - g.count_threshold) < 1e-3 }
                    if !ambiguous {
                        XCTAssertEqual(ours.count, theirs.count, "\(clip.file) @ \(f.ptsMs) ms: people")
                    }
                    sampled += 1
                    people += ours.count
                }
            }
            XCTAssertGreaterThan(sampled, 2, clip.file)
            frames += sampled
        }
        print("counts: \(frames) sampled frames, \(people) people, all equal to TensorFlow's")
        XCTAssertGreaterThan(people, 0)
    }

    // MARK: - Bad inputs

    func testTinyAndHugePicturesGiveSaneResults() throws {
        let d = try detector()
        let tiny = try RGBImage(width: 1, height: 1, pixels: [120, 90, 60])
        for p in try d.detect(tiny, scoreThreshold: 0.01) {
            XCTAssert(p.box.x0 >= 0 && p.box.x1 <= 1 && p.box.y0 >= 0 && p.box.y1 <= 1 && p.score.isFinite, "\(p)")
        }
        // A real frame blown up to 5000 × 3750: the resize reads it in place.
        let frame = try Self.picture(try Self.golden().raw_frame)
        let (w, h) = (5000, 3750)
        var big = [UInt8](repeating: 0, count: w * h * 3)
        for y in 0..<h {
            let sy = y * frame.height / h
            for x in 0..<w {
                let sx = x * frame.width / w
                for c in 0..<3 { big[(y * w + x) * 3 + c] = frame.pixels[(sy * frame.width + sx) * 3 + c] }
            }
        }
        let small = try d.detect(frame)
        let huge = try d.detect(try RGBImage(width: w, height: h, pixels: big))
        XCTAssertEqual(huge.count, small.count)
        for p in huge {
            XCTAssert(p.box.x0 >= 0 && p.box.x1 <= Float(w) && p.box.y0 >= 0 && p.box.y1 <= Float(h), "\(p)")
        }
        let wide = try RGBImage(width: PersonDetector.maxSide + 1, height: 1, pixels: [UInt8](repeating: 0, count: (PersonDetector.maxSide + 1) * 3))
        XCTAssertThrowsError(try d.detect(wide)) { error in
            XCTAssertEqual(error as? ImageError, .tooLarge(width: PersonDetector.maxSide + 1, height: 1, limit: PersonDetector.maxSide))
        }
    }

    func testOtherGraphFailsWithTheNodeThatDiffers() throws {
        // A small GraphDef whose stem conv has stride 1 (written by the golden script).
        XCTAssertThrowsError(try PersonDetector(modelFile: Self.folder + "/ssdlite_wrong_stride.pb")) { error in
            guard case let .topology(_, node, reason)? = error as? PersonDetectorError else {
                return XCTFail("expected a topology error, got \(error)")
            }
            XCTAssertEqual(node, "FeatureExtractor/MobilenetV2/Conv/Conv2D")
            XCTAssert(reason.contains("strides"), reason)
        }
        // Not a graph at all, and a missing file: named errors, no trap.
        XCTAssertThrowsError(try PersonDetector(modelFile: Self.folder + "/ssdlite_golden.json")) { error in
            guard case .model? = error as? PersonDetectorError else { return XCTFail("\(error)") }
        }
        XCTAssertThrowsError(try PersonDetector(modelFile: Self.folder + "/missing.pb")) { error in
            guard case .model(.cannotOpen)? = error as? PersonDetectorError else { return XCTFail("\(error)") }
        }
    }
}
