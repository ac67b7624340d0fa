// MTCNN against facenet-pytorch (fixtures from Scripts/golden/mtcnn_golden.py):
// - each network's outputs on fixed inputs, within 1e-4;
// - the whole cascade on three real pictures: the same number of faces, each box with
//   IoU ≥ 0.99 to the reference's, probability within 1e-3, landmarks within 1 pixel;
// - pictures too small for the pyramid, a huge one, and a missing model directory.
// Needs the model (Scripts/fetch-models mtcnn); the tests skip without it.
@testable import FaceDetector
import Foundation
import ImageOps
import Kernels
import TestSupport
import XCTest

final class FaceDetectorTests: XCTestCase {
    static let modelDirectory = URL(fileURLWithPath: Fixtures.modelsDirectory).appendingPathComponent("mtcnn")

    func detector(options: FaceDetector.Options = FaceDetector.Options()) throws -> FaceDetector {
        let probe = Self.modelDirectory.appendingPathComponent("pnet.pt").path
        try XCTSkipUnless(FileManager.default.fileExists(atPath: probe), "model not installed: Scripts/fetch-models mtcnn")
        return try FaceDetector(directory: Self.modelDirectory, options: options)
    }

    // MARK: - Fixtures

    struct Detections: Decodable {
        struct Picture: Decodable {
            let file: String
            let width: Int
            let height: Int
            let faces: [ReferenceFace]
        }
        struct ReferenceFace: Decodable {
            let box: [Float]
            let probability: Float
            let landmarks: [[Float]]
        }
        let pictures: [Picture]
    }

    struct Networks: Decodable {
        struct Case: Decodable {
            let net: String
            let batch: Int
            let height: Int
            let width: Int
            let outputs: [String: [Float]]
        }
        let cases: [Case]
    }

    static func decode<T: Decodable>(_ type: T.Type, _ file: String) throws -> T {
        try JSONDecoder().decode(T.self, from: Data(contentsOf: URL(fileURLWithPath: Fixtures.path("vision/\(file)"))))
    }

    /// A binary PPM (P6, maxval 255) as an RGBImage.
    static func readPPM(_ file: String) throws -> RGBImage {
        let data = try Data(contentsOf: URL(fileURLWithPath: Fixtures.path("vision/\(file)")))
        let bytes = [UInt8](data)
        var fields: [String] = [], pos = 0
        while fields.count < 4 {
            while pos < bytes.count, bytes[pos] == 0x20 || bytes[pos] == 0x0A || bytes[pos] == 0x0D || bytes[pos] == 0x09 { pos += 1 }
            let start = pos
            while pos < bytes.count, !(bytes[pos] == 0x20 || bytes[pos] == 0x0A || bytes[pos] == 0x0D || bytes[pos] == 0x09) { pos += 1 }
            fields.append(String(decoding: bytes[start..<pos], as: UTF8.self))
        }
        guard fields[0] == "P6", fields[3] == "255", let w = Int(fields[1]), let h = Int(fields[2]) else {
            throw CocoaError(.fileReadCorruptFile)
        }
        return try RGBImage(width: w, height: h, pixels: Array(bytes[(pos + 1)...]))
    }

    static func input(batch: Int, height: Int, width: Int) -> [Float] {
        // The golden script's (N, 3, H, W) values, rearranged to the networks' (3, N, H, W).
        var out = [Float](repeating: 0, count: 3 * batch * height * width)
        let plane = height * width
        for n in 0..<batch {
            for c in 0..<3 {
                for p in 0..<plane {
                    let i = (n * 3 + c) * plane + p
                    out[(c * batch + n) * plane + p] = Float((i * 37) % 101) / 50 - 1
                }
            }
        }
        return out
    }

    static func softmax2(_ a: Float, _ b: Float) -> (Float, Float) {
        let m = max(a, b)
        let ea = exp(Double(a - m)), eb = exp(Double(b - m))
        return (Float(ea / (ea + eb)), Float(eb / (ea + eb)))
    }

    static func maxDiff(_ a: [Float], _ b: [Float]) -> Float {
        precondition(a.count == b.count, "\(a.count) vs \(b.count) values")
        return zip(a, b).map { abs($0 - $1) }.max() ?? 0
    }

    // MARK: - Networks

    func testNetworksMatchFacenetPytorch() throws {
        let detector = try detector()
        let cases = try Self.decode(Networks.self, "mtcnn_networks.json").cases
        XCTAssertEqual(cases.map(\.net), ["pnet", "rnet", "onet"])
        for c in cases {
            let x = Self.input(batch: c.batch, height: c.height, width: c.width)
            switch c.net {
            case "pnet":
                let (out, oh, ow) = try detector.pnet.forward(x, batch: 1, height: c.height, width: c.width, pool: .shared)
                let cells = oh * ow
                XCTAssertEqual([oh, ow], [11, 18]) // (31 − 2) / 2 ceil → 15 − 4, (45 − 2) / 2 ceil → 22 − 4
                var prob = [Float](repeating: 0, count: 2 * cells)
                for i in 0..<cells { (prob[i], prob[cells + i]) = Self.softmax2(out[i], out[cells + i]) }
                let reg = Array(out[(2 * cells)..<(6 * cells)])
                let dp = Self.maxDiff(prob, c.outputs["softmax4_1"]!), dr = Self.maxDiff(reg, c.outputs["conv4_2"]!)
                XCTAssertLessThan(dp, 1e-4, "P-Net probabilities")
                XCTAssertLessThan(dr, 1e-4, "P-Net box offsets")
                print("P-Net max |Δ|: probability \(dp), offsets \(dr)")
            default:
                let net = c.net == "rnet" ? detector.rnet : detector.onet
                let (out, _, _) = try net.forward(x, batch: c.batch, height: c.height, width: c.width, pool: .shared)
                let k = net.headOutputs
                var prob: [Float] = [], reg: [Float] = [], marks: [Float] = []
                for n in 0..<c.batch {
                    let (p0, p1) = Self.softmax2(out[n * k], out[n * k + 1])
                    prob += [p0, p1]
                    reg += out[(n * k + 2)..<(n * k + 6)]
                    if k == 16 { marks += out[(n * k + 6)..<(n * k + 16)] }
                }
                let names = c.net == "rnet" ? ("softmax5_1", "dense5_2") : ("softmax6_1", "dense6_2")
                let dp = Self.maxDiff(prob, c.outputs[names.0]!), dr = Self.maxDiff(reg, c.outputs[names.1]!)
                XCTAssertLessThan(dp, 1e-4, "\(c.net) probabilities")
                XCTAssertLessThan(dr, 1e-4, "\(c.net) box offsets")
                var dl: Float = 0
                if k == 16 {
                    dl = Self.maxDiff(marks, c.outputs["dense6_3"]!)
                    XCTAssertLessThan(dl, 1e-4, "O-Net landmarks")
                }
                print("\(c.net) max |Δ|: probability \(dp), offsets \(dr), landmarks \(dl)")
            }
        }
    }

    // MARK: - Cascade

    func testDetectionsMatchFacenetPytorch() throws {
        let detector = try detector()
        let pictures = try Self.decode(Detections.self, "mtcnn_detections.json").pictures
        XCTAssertEqual(pictures.count, 3)
        XCTAssertGreaterThanOrEqual(pictures.map(\.faces.count).reduce(0, +), 5, "the fixtures hold several faces")
        for picture in pictures {
            let image = try Self.readPPM(picture.file)
            XCTAssertEqual([image.width, image.height], [picture.width, picture.height])
            let faces = try detector.detect(image)
            try compare(faces, picture.faces, picture.file)
        }
    }

    func testReferenceKernelsGiveTheSameFaces() throws {
        let detector = try detector()
        let picture = try Self.decode(Detections.self, "mtcnn_detections.json").pictures.first { $0.file == "mtcnn_carphone.ppm" }!
        let image = try Self.readPPM(picture.file)
        KernelConfig.forceReference = true
        defer { KernelConfig.forceReference = false }
        try compare(try detector.detect(image), picture.faces, "\(picture.file) (reference kernels)")
    }

    private func compare(_ faces: [Face], _ reference: [Detections.ReferenceFace], _ what: String,
                         file: StaticString = #filePath, line: UInt = #line) throws {
        XCTAssertEqual(faces.count, reference.count, "\(what): face count", file: file, line: line)
        var worstIoU: Float = 1, worstProb: Float = 0, worstMark: Float = 0
        for ref in reference {
            let box = Box(x0: ref.box[0], y0: ref.box[1], x1: ref.box[2], y1: ref.box[3])
            guard let ours = faces.max(by: { $0.box.iou(box) < $1.box.iou(box) }) else { continue }
            worstIoU = min(worstIoU, ours.box.iou(box))
            worstProb = max(worstProb, abs(ours.score - ref.probability))
            for (p, r) in zip(ours.landmarks, ref.landmarks) { worstMark = max(worstMark, abs(p.x - r[0]), abs(p.y - r[1])) }
        }
        XCTAssertGreaterThanOrEqual(worstIoU, 0.99, "\(what): box IoU", file: file, line: line)
        XCTAssertLessThanOrEqual(worstProb, 1e-3, "\(what): probability", file: file, line: line)
        XCTAssertLessThanOrEqual(worstMark, 1, "\(what): landmarks (pixels)", file: file, line: line)
        if !reference.isEmpty {
            // Same order as the reference: largest box first.
            XCTAssertEqual(faces.first.map { $0.box.iou(Box(x0: reference[0].box[0], y0: reference[0].box[1],
                                                             x1: reference[0].box[2], y1: reference[0].box[3])) } ?? 0,
                           1, accuracy: 0.01, "\(what): first face", file: file, line: line)
        }
        print("\(what): \(faces.count) faces, min IoU \(worstIoU), max |Δp| \(worstProb), max landmark |Δ| \(worstMark) px")
    }

    // MARK: - Bad inputs

    func testPicturesTooSmallForThePyramidHaveNoFaces() throws {
        let detector = try detector()
        for side in [1, 11, 12, 19] {
            let image = try RGBImage(width: side, height: side, pixels: [UInt8](repeating: 128, count: side * side * 3))
            XCTAssertEqual(detector.scales(width: side, height: side), [])
            XCTAssertEqual(try detector.detect(image), [], "\(side)x\(side)")
        }
        // 20 pixels is the first size with a level: 20 × 0.6 = 12.
        XCTAssertEqual(detector.scales(width: 20, height: 300).count, 1)
        let strip = try RGBImage(width: 300, height: 20, pixels: [UInt8](repeating: 90, count: 300 * 20 * 3))
        XCTAssertEqual(try detector.detect(strip), [])
    }

    func testHugePictureSkipsOversizedLevelsAndStillFindsLargeFaces() throws {
        let detector = try detector()
        // The lipnet frame (face ~100 × 150 px) scaled ×10 by pixel repetition: 3600 × 2880.
        // Levels up to 1 megapixel run; the face, now ~1000 px, is found by the coarse levels.
        let small = try Self.readPPM("mtcnn_lipnet.ppm")
        let factor = 10
        let w = small.width * factor, h = small.height * factor
        var pixels = [UInt8](repeating: 0, count: w * h * 3)
        for y in 0..<h {
            for x in 0..<w {
                let s = ((y / factor) * small.width + x / factor) * 3, d = (y * w + x) * 3
                pixels[d] = small.pixels[s]; pixels[d + 1] = small.pixels[s + 1]; pixels[d + 2] = small.pixels[s + 2]
            }
        }
        let huge = try RGBImage(width: w, height: h, pixels: pixels)
        let scales = detector.scales(width: w, height: h)
        let skipped = scales.filter { Int(Double(h) * $0 + 1) * Int(Double(w) * $0 + 1) > detector.options.maxLevelPixels }
        // 0.6 → 2161 × 1729 and 0.425 → 1532 × 1226 are over 1 megapixel; 0.302 → 1086 × 869 is not.
        XCTAssertEqual(skipped.count, 2)
        let faces = try detector.detect(huge)
        let reference = try Self.decode(Detections.self, "mtcnn_detections.json").pictures.first { $0.file == "mtcnn_lipnet.ppm" }!
        XCTAssertEqual(faces.count, 1)
        if let face = faces.first, let ref = reference.faces.first {
            let scaled = Box(x0: ref.box[0] * Float(factor), y0: ref.box[1] * Float(factor),
                             x1: ref.box[2] * Float(factor), y1: ref.box[3] * Float(factor))
            XCTAssertGreaterThan(face.box.iou(scaled), 0.8, "the same face, 10 times larger")
            XCTAssertGreaterThan(face.score, 0.99)
        }
    }

    func testMissingModelDirectoryIsANamedError() {
        let dir = URL(fileURLWithPath: "/nonexistent/mtcnn")
        XCTAssertThrowsError(try FaceDetector(directory: dir)) { error in
            let text = "\(error)"
            XCTAssertTrue(text.contains("/nonexistent/mtcnn/pnet"), text)
        }
    }

    func testOptionsOutOfRangeAreRefused() throws {
        _ = try detector()
        var options = FaceDetector.Options()
        options.factor = 1
        XCTAssertThrowsError(try FaceDetector(directory: Self.modelDirectory, options: options)) { error in
            XCTAssertTrue("\(error)".contains("factor 1.0"), "\(error)")
        }
        options = FaceDetector.Options()
        options.minFaceSize = 0
        XCTAssertThrowsError(try FaceDetector(directory: Self.modelDirectory, options: options))
    }

    func testMinimumAreaSuppressionFollowsTheMatlabRule() {
        // A small box inside a large one: IoU is low (0.09) but the overlap over the smaller
        // box's area is 1, so "Min" suppresses it; a disjoint box survives.
        let boxes = [Box(x0: 0, y0: 0, x1: 99, y1: 99), Box(x0: 10, y0: 10, x1: 39, y1: 39), Box(x0: 200, y0: 0, x1: 240, y1: 40)]
        XCTAssertEqual(FaceDetector.nmsMin(boxes, scores: [0.9, 0.95, 0.8], threshold: 0.7), [1, 2])
        XCTAssertEqual(FaceDetector.nmsMin(boxes, scores: [0.99, 0.95, 0.8], threshold: 0.7), [0, 2])
    }
}
