// MobileNetV2 labels and embeddings against torchvision (Scripts/golden/mobilenet_golden.py →
// Tests/Fixtures/vision): Pillow-exact resize and crop, the network on the reference's own
// input tensor, the whole pipeline on real frames, the reference kernels, and bad pictures.
// Tolerances: logits and embeddings within 1e-3 absolute (float32 sums in another order and
// BatchNorm folded into the convolutions), top-5 indices identical; resize bytes exact.
import Foundation
import ImageLabels
import ImageOps
import Kernels
import ModelIO
import TestSupport
import XCTest

final class ImageLabelsTests: XCTestCase {
    struct Golden: Decodable {
        struct Image: Decodable {
            let name: String
            let width: Int
            let height: Int
            let top5: [Int]
            let top5_names: [String]
            let crop_fnv1a64: String
            let crop_file: String?
        }
        let images: [Image]
    }

    static let tolerance: Float = 1e-3
    static let modelDirectory = Fixtures.modelsDirectory + "/mobilenet-v2"
    nonisolated(unsafe) static var shared: ImageClassifier?

    private func golden() throws -> Golden {
        try JSONDecoder().decode(Golden.self, from: Data(contentsOf: URL(fileURLWithPath: Fixtures.path("vision/golden.json"))))
    }

    private func classifier() throws -> ImageClassifier {
        try XCTSkipUnless(FileManager.default.fileExists(atPath: Self.modelDirectory + "/" + ImageClassifier.weightsFile),
                          "mobilenet-v2 not installed (Scripts/fetch-models mobilenet-v2)")
        if let c = Self.shared { return c }
        let c = try ImageClassifier(directory: Self.modelDirectory)
        Self.shared = c
        return c
    }

    /// logits (1000) then embedding (1280) as torchvision computed them.
    private func reference(_ name: String) throws -> (logits: [Float], embedding: [Float]) {
        let data = try Data(contentsOf: URL(fileURLWithPath: Fixtures.path("vision/\(name).f32")))
        let v = data.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
        XCTAssertEqual(v.count, MobileNetV2.classCount + MobileNetV2.embeddingSize)
        return (Array(v[..<MobileNetV2.classCount]), Array(v[MobileNetV2.classCount...]))
    }

    static func readPPM(_ path: String) throws -> RGBImage {
        let data = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
        var fields: [String] = [], i = 0
        func space(_ b: UInt8) -> Bool { b == 0x20 || b == 0x0A || b == 0x0D || b == 0x09 }
        while fields.count < 4 && i < data.count {
            while i < data.count, space(data[i]) { i += 1 }
            var token = ""
            while i < data.count, !space(data[i]) { token.append(Character(Unicode.Scalar(data[i]))); i += 1 }
            fields.append(token)
        }
        guard fields.count == 4, fields[0] == "P6", let w = Int(fields[1]), let h = Int(fields[2]), fields[3] == "255" else {
            throw ImageError.invalidSize(width: 0, height: 0)
        }
        return try RGBImage(width: w, height: h, pixels: Array(data[(i + 1)...]))
    }

    static func fnv1a64(_ bytes: [UInt8]) -> String {
        var h: UInt64 = 0xCBF2_9CE4_8422_2325
        for b in bytes { h = (h ^ UInt64(b)) &* 0x100_0000_01B3 }
        let hex = String(h, radix: 16)
        return String(repeating: "0", count: 16 - hex.count) + hex
    }

    static func maxDifference(_ a: [Float], _ b: [Float]) -> Float {
        zip(a, b).map { abs($0 - $1) }.max() ?? .infinity
    }

    // MARK: - Pre-processing

    func testResizeAndCropReproducePillowByteForByte() throws {
        let golden = try golden()
        XCTAssertEqual(golden.images.count, 6)
        for g in golden.images {
            let image = try Self.readPPM(Fixtures.path("vision/\(g.name).ppm"))
            XCTAssertEqual([image.width, image.height], [g.width, g.height], g.name)
            XCTAssertEqual(Self.fnv1a64(try ImageNetPreprocessing.resizedCrop(image)), g.crop_fnv1a64, g.name)
        }
    }

    func testResizedSizeAndCropFollowTorchvision() {
        XCTAssertTrue(ImageNetPreprocessing.resizedSize(width: 640, height: 360) == (455, 256)) // int(455.1)
        XCTAssertTrue(ImageNetPreprocessing.resizedSize(width: 184, height: 72) == (654, 256)) // int(654.2)
        XCTAssertTrue(ImageNetPreprocessing.resizedSize(width: 1, height: 1) == (256, 256))
        XCTAssertTrue(ImageNetPreprocessing.resizedSize(width: 300, height: 900) == (256, 768))
    }

    // MARK: - Network

    func testNetworkOnTheReferenceInputTensor() throws {
        let classifier = try classifier()
        let g = try XCTUnwrap(try golden().images.first { $0.crop_file != nil })
        let crop = try [UInt8](Data(contentsOf: URL(fileURLWithPath: Fixtures.path("vision/\(g.crop_file!)"))))
        var input = [Float](repeating: 0, count: 3 * 224 * 224)
        input.withUnsafeMutableBufferPointer { ImageNetPreprocessing.normalize(crop, into: $0.baseAddress!) }
        let result = try classifier.analyse(normalized: input, count: 1)[0]
        let ref = try reference(g.name)
        XCTAssertLessThan(Self.maxDifference(result.logits, ref.logits), Self.tolerance)
        XCTAssertLessThan(Self.maxDifference(result.embedding, ref.embedding), Self.tolerance)
        XCTAssertEqual(result.labels.map(\.index), g.top5)
    }

    func testWholePipelineMatchesTorchvisionOnRealPictures() throws {
        let classifier = try classifier()
        var worstLogit: Float = 0, worstEmbedding: Float = 0
        for g in try golden().images {
            let result = try classifier.analyse(try Self.readPPM(Fixtures.path("vision/\(g.name).ppm")))
            let ref = try reference(g.name)
            worstLogit = max(worstLogit, Self.maxDifference(result.logits, ref.logits))
            worstEmbedding = max(worstEmbedding, Self.maxDifference(result.embedding, ref.embedding))
            XCTAssertEqual(result.labels.map(\.index), g.top5, g.name)
            XCTAssertEqual(result.labels.map(\.name), g.top5_names, g.name)
            XCTAssertEqual(result.embedding.count, 1280)
            let probabilities = result.labels.map(\.probability)
            XCTAssertEqual(probabilities, probabilities.sorted(by: >), g.name)
        }
        XCTAssertLessThan(worstLogit, Self.tolerance)
        XCTAssertLessThan(worstEmbedding, Self.tolerance)
    }

    func testBatchOfCropsEqualsOneByOne() throws {
        let classifier = try classifier()
        let names = ["cars", "word", "pixel"]
        let images = try names.map { try Self.readPPM(Fixtures.path("vision/\($0).ppm")) }
        let batch = try classifier.analyse(images, topK: 3)
        XCTAssertEqual(batch.count, 3)
        for (image, result) in zip(images, batch) {
            let single = try classifier.analyse(image, topK: 3)
            // The features run picture by picture (identical); the classifier is one GEMM over
            // the batch, whose kernel for 3 rows sums in another order than for 1.
            XCTAssertEqual(result.embedding, single.embedding)
            XCTAssertEqual(result.labels.map(\.index), single.labels.map(\.index))
            XCTAssertLessThan(Self.maxDifference(result.logits, single.logits), 1e-5)
        }
        XCTAssertEqual(try classifier.analyse([RGBImage]()).count, 0)
    }

    func testReferenceKernelsGiveTheSameLogits() throws {
        let classifier = try classifier()
        let image = try Self.readPPM(Fixtures.path("vision/carphone.ppm"))
        let fast = try classifier.analyse(image)
        KernelConfig.forceReference = true
        defer { KernelConfig.forceReference = false }
        let plain = try classifier.analyse(image)
        XCTAssertLessThan(Self.maxDifference(fast.logits, plain.logits), 1e-4)
        XCTAssertEqual(fast.labels.map(\.index), plain.labels.map(\.index))
    }

    // MARK: - Bad pictures

    func testTinyAndHugePictures() throws {
        let classifier = try classifier()
        // 1 x 1 (also in the golden set): a flat colour, still five finite labels.
        let pixel = try classifier.analyse(try RGBImage(width: 1, height: 1, pixels: [200, 30, 90]))
        XCTAssertEqual(pixel.labels.count, 5)
        XCTAssertTrue(pixel.embedding.allSatisfy(\.isFinite))
        // 4000 x 3000: only the crop's source rows are resampled; same labels as a flat picture of that colour.
        let big = try RGBImage(width: 4000, height: 3000, pixels: [UInt8](repeating: 0, count: 4000 * 3000 * 3).enumerated().map {
            [200, 30, 90][$0.offset % 3]
        })
        XCTAssertEqual(try classifier.analyse(big).labels.map(\.index), pixel.labels.map(\.index))
        // A 1-pixel-high strip: extreme aspect ratio, fine.
        let strip = try RGBImage(width: 5000, height: 1, pixels: [UInt8](repeating: 128, count: 5000 * 3))
        XCTAssertEqual(try classifier.analyse(strip).labels.count, 5)
        // Beyond the side limit: refused before any work.
        let wide = try RGBImage(width: ImageNetPreprocessing.maxSide + 1, height: 1,
                                pixels: [UInt8](repeating: 0, count: (ImageNetPreprocessing.maxSide + 1) * 3))
        XCTAssertThrowsError(try classifier.analyse(wide)) {
            XCTAssertEqual($0 as? ImageError, .tooLarge(width: ImageNetPreprocessing.maxSide + 1, height: 1, limit: ImageNetPreprocessing.maxSide))
        }
    }

    func testMissingOrWrongModelFile() throws {
        XCTAssertThrowsError(try ImageClassifier(directory: "/nonexistent")) {
            guard case ModelLoadError.cannotOpen(let path, _) = $0 else { return XCTFail("\($0)") }
            XCTAssertEqual(path, "/nonexistent/mobilenet_v2-b0353104.pth")
        }
        // A valid checkpoint that is not MobileNetV2: the first missing tensor is named.
        let file = try TorchCheckpointFile(path: Fixtures.path("torch/small.pt"))
        XCTAssertThrowsError(try MobileNetV2(file: file)) {
            XCTAssertEqual($0 as? ModelLoadError, .missingTensor(path: file.path, name: "features.0.0.weight"))
        }
    }
}
