// PP-OCRv5 on our kernels against onnxruntime and PaddleOCR's processing
// (Scripts/golden/ppocr_golden.py): each network's output on a fixed input, then boxes and
// text on the fixture pictures, the character error rate against the Tesseract pages'
// ground truth, and pictures that must give no text rather than a crash.
import Foundation
import ImageOps
import Kernels
import ModelIO
@testable import OCR
import TestSupport
import XCTest

final class TextReaderTests: XCTestCase {
    private static let modelDirectory = Fixtures.modelsDirectory + "/ppocr-v5-mobile"
    nonisolated(unsafe) private static var cachedReader: TextReader?

    private func reader() throws -> TextReader {
        guard FileManager.default.fileExists(atPath: Self.modelDirectory + "/" + TextReader.files.det) else {
            throw XCTSkip("ppocr-v5-mobile is not installed (Scripts/fetch-models ppocr-v5-mobile)")
        }
        if let r = Self.cachedReader { return r }
        let r = try TextReader(directory: Self.modelDirectory)
        Self.cachedReader = r
        return r
    }

    private struct Golden: Decodable {
        struct Line: Decodable { var box: [[Int]]; var text: String; var score: Double; var angle: Int }
        struct Image: Decodable { var file: String; var lines: [Line]; var reference: String?; var cer: Double? }
        struct Tensor: Decodable {
            var net: String; var input_shape: [Int]; var output_shape: [Int]; var offset: Int; var count: Int
            var argmax: [Int]?; var max: [Float]?; var stored_classes: Int?
        }
        var images: [Image]
        var tensors: [Tensor]
    }

    private func golden() throws -> Golden {
        try JSONDecoder().decode(Golden.self, from: Data(contentsOf: URL(fileURLWithPath: Fixtures.path("ocr/ppocr_golden.json"))))
    }

    /// A binary PPM (P6) or PGM (P5, expanded to grey RGB).
    private func readPNM(_ path: String) throws -> RGBImage {
        let data = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        var fields: [String] = [], i = 0
        func space(_ b: UInt8) -> Bool { b == 0x20 || b == 0x0A || b == 0x0D || b == 0x09 }
        while fields.count < 4 && i < data.count {
            while i < data.count, space(data[i]) { i += 1 }
            var f = ""
            while i < data.count, !space(data[i]) { f.append(Character(UnicodeScalar(data[i]))); i += 1 }
            fields.append(f)
        }
        i += 1
        let w = try XCTUnwrap(Int(fields[1])), h = try XCTUnwrap(Int(fields[2]))
        let body = Array(data[i...])
        return try RGBImage(width: w, height: h, pixels: fields[0] == "P6" ? body : body.flatMap { [$0, $0, $0] })
    }

    /// The same smooth pattern in [-1, 1] the golden script feeds each network.
    private func pattern(_ shape: [Int]) -> Value {
        let n = shape.reduce(1, *)
        return Value(shape: shape, data: (0..<n).map { Float(sin(Double($0) * 0.37)) })
    }

    func testNetworksMatchOnnxruntime() throws {
        let reader = try reader()
        let golden = try golden()
        let blob = try Data(contentsOf: URL(fileURLWithPath: Fixtures.path("ocr/ppocr_tensors.bin")))
        let stored = blob.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
        for t in golden.tensors {
            let net = t.net == "det" ? reader.det : t.net == "cls" ? reader.cls : reader.rec
            let out = try net.run(pattern(t.input_shape))
            XCTAssertEqual(out.shape, t.output_shape, t.net)
            let expected = Array(stored[(t.offset / 4)..<(t.offset / 4 + t.count)])
            var got = out.data
            if let classes = t.stored_classes, let last = out.shape.last {
                got = (0..<(out.count / last)).flatMap { Array(out.data[($0 * last)..<($0 * last + classes)]) }
                let argmax = (0..<(out.count / last)).map { r in (0..<last).max { out.data[r * last + $0] < out.data[r * last + $1] }! }
                XCTAssertEqual(argmax, t.argmax, "rec argmax per step")
            }
            XCTAssertEqual(got.count, expected.count, t.net)
            let maxError = zip(got, expected).map { abs($0 - $1) }.max() ?? 0
            print("\(t.net): max abs error \(maxError) over \(got.count) values")
            XCTAssertLessThan(maxError, 1e-4, t.net)
        }
    }

    func testLinesMatchReferencePipeline() throws {
        let reader = try reader()
        for image in try golden().images {
            let lines = try reader.read(readPNM(Fixtures.path("ocr/\(image.file)")))
            XCTAssertEqual(lines.map(\.text), image.lines.map(\.text), image.file)
            XCTAssertEqual(lines.map { $0.quad.map { [Int($0.x), Int($0.y)] } }, image.lines.map(\.box), image.file)
            for (a, b) in zip(lines, image.lines) { XCTAssertEqual(Double(a.score), b.score, accuracy: 1e-3, "\(image.file): \(a.text)") }
            if let reference = image.reference, let referenceCER = image.cer {
                let ours = Self.characterErrorRate(lines.map(\.text).joined(separator: "\n"), reference)
                print("\(image.file): CER ours \(ours), onnxruntime \(referenceCER)")
                XCTAssertEqual(ours, referenceCER, accuracy: 1e-9, image.file)
            }
        }
    }

    func testDegeneratePicturesGiveNoText() throws {
        let reader = try reader()
        let tiny = try RGBImage(width: 1, height: 1, pixels: [0, 0, 0])
        XCTAssertEqual(try reader.read(tiny), [])
        let blank = try RGBImage(width: 200, height: 120, pixels: [UInt8](repeating: 255, count: 200 * 120 * 3))
        XCTAssertEqual(try reader.read(blank), [])
        let strip = try RGBImage(width: 3000, height: 2, pixels: [UInt8](repeating: 128, count: 3000 * 2 * 3))
        XCTAssertEqual(try reader.read(strip), [])
    }

    func testDetectionSizeRule() {
        XCTAssertTrue(TextReader.detectionSize(width: 1, height: 1) == (64, 64))
        XCTAssertTrue(TextReader.detectionSize(width: 640, height: 480) == (640, 480))
        XCTAssertTrue(TextReader.detectionSize(width: 905, height: 480) == (896, 480))
        XCTAssertTrue(TextReader.detectionSize(width: 10000, height: 100) == (4000, 32)) // long side capped
    }

    func testUnsupportedOperatorIsNamedAtLoad() throws {
        _ = try reader() // skips when the models are absent, like the other model tests
        // Rename the classifier's Softmax operator (every occurrence, same length) in a copy of the file.
        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: Self.modelDirectory + "/" + TextReader.files.cls)))
        let needle = Array("Softmax".utf8), replacement = Array("Softmix".utf8)
        var replaced = 0
        for at in 0...(bytes.count - needle.count) where bytes[at..<(at + needle.count)].elementsEqual(needle) {
            bytes.replaceSubrange(at..<(at + needle.count), with: replacement)
            replaced += 1
        }
        XCTAssertGreaterThan(replaced, 0)
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("cls-\(UUID().uuidString).onnx").path
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        defer { try? FileManager.default.removeItem(atPath: path) }
        XCTAssertThrowsError(try ONNXNetwork(model: ONNXModel(path: path))) { error in
            guard case let .unsupportedOperator(p, _, op, _)? = error as? ModelLoadError else { return XCTFail("\(error)") }
            XCTAssertEqual(p, path)
            XCTAssertEqual(op, "Softmix")
        }
    }

    /// Levenshtein distance over reference length, whitespace runs as one space (as the golden script).
    static func characterErrorRate(_ hypothesis: String, _ reference: String) -> Double {
        let h = Array(hypothesis.split(whereSeparator: \.isWhitespace).joined(separator: " ").unicodeScalars)
        let r = Array(reference.split(whereSeparator: \.isWhitespace).joined(separator: " ").unicodeScalars)
        var previous = Array(0...r.count)
        for (i, hc) in h.enumerated() {
            var current = [i + 1] + [Int](repeating: 0, count: r.count)
            for (j, rc) in r.enumerated() {
                current[j + 1] = min(previous[j + 1] + 1, current[j] + 1, previous[j] + (hc == rc ? 0 : 1))
            }
            previous = current
        }
        return Double(previous[r.count]) / Double(max(r.count, 1))
    }
}
