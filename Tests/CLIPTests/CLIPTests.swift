// CLIP against transformers on a tiny random checkpoint in the real layout
// (Tests/Fixtures/clip/tiny, made with Scripts/golden/clip_golden.py): token ids equal
// CLIPTokenizer's, the picture crop equals Pillow's bytes, text and image embeddings are
// within cosine 0.9999 of CLIPModel's (the measured figures are far closer), on the optimised
// and the reference kernels; broken directories fail with errors that name the file or tensor.
import Foundation
import ImageOps
import Kernels
import ModelIO
import TestSupport
import XCTest
@testable import CLIP

final class CLIPTests: XCTestCase {
    struct Golden: Decodable {
        struct Text: Decodable { let text: String; let ids: [Int32]; let embedding: [Float] }
        struct Image: Decodable { let file: String; let width: Int; let height: Int; let embedding: [Float] }
        let texts: [Text]
        let images: [Image]
        let logit_scale: Float
        let projection_dim: Int
        let vocabulary_size: Int
    }

    static let tiny = URL(fileURLWithPath: Fixtures.path("clip/tiny"))
    static let golden: Golden = {
        // The fixture is committed; a decoding failure is a broken checkout, reported by every test.
        (try? JSONDecoder().decode(Golden.self, from: Data(contentsOf: URL(fileURLWithPath: Fixtures.path("clip/golden.json")))))
            ?? Golden(texts: [], images: [], logit_scale: 0, projection_dim: 0, vocabulary_size: 0)
    }()
    static let model: Result<CLIPModel, CLIPError> = Result { () throws(CLIPError) in try CLIPModel(directory: tiny) }

    static func cosine(_ a: [Float], _ b: [Float]) -> Double {
        var dot = 0.0, na = 0.0, nb = 0.0
        for (x, y) in zip(a, b) { dot += Double(x) * Double(y); na += Double(x) * Double(x); nb += Double(y) * Double(y) }
        return dot / max((na * nb).squareRoot(), 1e-30)
    }

    static func maxDifference(_ a: [Float], _ b: [Float]) -> Float { zip(a, b).map { abs($0 - $1) }.max() ?? .infinity }

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

    // MARK: - Tokenizer

    func testTokenIdsEqualTransformers() throws {
        let tokenizer = try CLIPTokenizer(path: Self.tiny.appendingPathComponent("tokenizer.json").path)
        XCTAssertEqual(Self.golden.texts.count, 13)
        XCTAssertEqual(tokenizer.bos, 2512)
        XCTAssertEqual(tokenizer.eos, 2513)
        XCTAssertEqual(tokenizer.vocabularySize, Self.golden.vocabulary_size)
        for t in Self.golden.texts {
            XCTAssertEqual(tokenizer.encode(t.text), t.ids, "\(t.text.debugDescription)")
        }
        // Spot checks that do not depend on the fixture: case, whitespace and the 77-id cap.
        XCTAssertEqual(tokenizer.encode("a photo of a cat"), [2512, 320, 1125, 539, 320, 2368, 2513])
        XCTAssertEqual(tokenizer.encode("  A\tPHOTO\n of a Cat "), tokenizer.encode("a photo of a cat"))
        XCTAssertEqual(tokenizer.encode(""), [2512, 2513])
        XCTAssertEqual(tokenizer.encode(String(repeating: "9", count: 500)).count, 77)
    }

    func testPreTokenizerFollowsCLIPsPattern() {
        XCTAssertEqual(CLIPTokenizer.preTokenize("someone's at the door; they'll wait!!"),
                       ["someone", "'s", "at", "the", "door", ";", "they", "'ll", "wait", "!!"])
        XCTAssertEqual(CLIPTokenizer.preTokenize("$5.99 x2"), ["$", "5", ".", "9", "9", "x", "2"])
        XCTAssertEqual(CLIPTokenizer.preTokenize("<|endoftext|>ok"), ["<|endoftext|>", "ok"])
        XCTAssertEqual(CLIPTokenizer.normalize("Cafe\u{301}  ÉTÉ\n"), "café été ")
    }

    func testPoolingPositionFollowsTransformersRule() throws {
        var text = try Self.model.get().config.text
        XCTAssertFalse(text.pooledAtArgmax)
        XCTAssertEqual(CLIPModel.pooledIndex([2512, 7, 2513, 9, 2513], config: text), 2)   // first <|endoftext|>
        text.eosTokenId = 2 // the original checkpoints' configs: the highest id, first of equals
        XCTAssertEqual(CLIPModel.pooledIndex([5, 49407, 3, 49407], config: text), 1)
    }

    // MARK: - Pictures

    func testCropEqualsPillowByteForByte() throws {
        let image = try Self.readPPM(Fixtures.path("vision/bottles.ppm"))
        let expected = try [UInt8](Data(contentsOf: URL(fileURLWithPath: Fixtures.path("clip/crop-bottles.rgb"))))
        let crop = try CLIPImagePreprocessing.resizedCrop(image, settings: .openAI(size: 224))
        XCTAssertEqual(crop.count, 224 * 224 * 3)
        XCTAssertEqual(crop, expected)
        XCTAssertEqual(CLIPImagePreprocessing.resizedSize(width: 320, height: 180, shortestEdge: 224).width, 398)
    }

    // MARK: - Embeddings

    func testTextEmbeddingsMatchTransformers() throws {
        let model = try Self.model.get()
        XCTAssertEqual(model.dimension, 16)
        let vectors = model.embed(texts: Self.golden.texts.map(\.text))
        var worst = 1.0, error: Float = 0
        for (t, v) in zip(Self.golden.texts, vectors) {
            worst = min(worst, Self.cosine(v, t.embedding))
            error = max(error, Self.maxDifference(v, t.embedding))
        }
        print("CLIP text: min cosine \(worst), max abs error \(error) over \(vectors.count) texts")
        XCTAssertGreaterThanOrEqual(worst, 0.9999)
        XCTAssertLessThan(error, 1e-4)
        // One at a time equals the batch (ragged rows, each sequence attends to itself only).
        XCTAssertLessThan(Self.maxDifference(model.embed(text: Self.golden.texts[3].text), vectors[3]), 1e-5)
        XCTAssertEqual(model.logitScale, Foundation.exp(2.6592), accuracy: 1e-3)
        XCTAssertEqual(model.logitScale, Self.golden.logit_scale.isFinite ? Foundation.exp(Self.golden.logit_scale) : 0, accuracy: 1e-4)
    }

    func testImageEmbeddingsMatchTransformers() throws {
        let model = try Self.model.get()
        let images = try Self.golden.images.map { try Self.readPPM(Fixtures.path($0.file)) }
        XCTAssertEqual(images.count, 6)
        let vectors = try model.embed(images: images)
        var worst = 1.0, error: Float = 0
        for (g, v) in zip(Self.golden.images, vectors) {
            let c = Self.cosine(v, g.embedding)
            worst = min(worst, c)
            error = max(error, Self.maxDifference(v, g.embedding))
            XCTAssertGreaterThanOrEqual(c, 0.9999, g.file)
        }
        print("CLIP image: min cosine \(worst), max abs error \(error) over \(vectors.count) pictures")
        XCTAssertLessThan(error, 1e-4)
        XCTAssertLessThan(Self.maxDifference(try model.embed(image: images[2]), vectors[2]), 1e-5)
    }

    func testReferenceKernelsGiveTheSameEmbeddings() throws {
        let model = try Self.model.get()
        let image = try Self.readPPM(Fixtures.path("vision/cars.ppm"))
        let fast = (try model.embed(image: image), model.embed(text: Self.golden.texts[4].text))
        KernelConfig.forceReference = true
        defer { KernelConfig.forceReference = false }
        let reference = (try model.embed(image: image), model.embed(text: Self.golden.texts[4].text))
        XCTAssertLessThan(Self.maxDifference(fast.0, reference.0), 1e-5)
        XCTAssertLessThan(Self.maxDifference(fast.1, reference.1), 1e-5)
        XCTAssertGreaterThanOrEqual(Self.cosine(reference.0, Self.golden.images[1].embedding), 0.9999)
    }

    // MARK: - Broken directories

    /// A copy of the tiny checkpoint in a temporary directory, changed by `edit`.
    func brokenCopy(_ edit: (URL) throws -> Void) throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("clip-\(UUID().uuidString)")
        try FileManager.default.copyItem(at: Self.tiny, to: dir)
        addTeardownBlock { try? FileManager.default.removeItem(at: dir) }
        try edit(dir)
        return dir
    }

    func loadError(_ dir: URL) -> CLIPError? {
        do {
            _ = try CLIPModel(directory: dir)
            return nil
        } catch {
            return error
        }
    }

    func testMissingFilesAreNamed() throws {
        for file in ["config.json", "tokenizer.json", "model.safetensors"] {
            let dir = try brokenCopy { try FileManager.default.removeItem(at: $0.appendingPathComponent(file)) }
            XCTAssertEqual(loadError(dir), .missingFile(path: dir.appendingPathComponent(file).path), file)
        }
        XCTAssertNotNil(loadError(URL(fileURLWithPath: "/nonexistent/clip")))
    }

    func testWrongConfigIsRefused() throws {
        func withConfig(_ change: @escaping (inout [String: Any]) -> Void) throws -> URL {
            try brokenCopy { dir in
                let url = dir.appendingPathComponent("config.json")
                var json = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any])
                change(&json)
                try JSONSerialization.data(withJSONObject: json).write(to: url)
            }
        }
        let bert = try withConfig { $0["model_type"] = "bert" }
        guard case .unsupported? = loadError(bert) else { return XCTFail("\(String(describing: loadError(bert)))") }
        let noVision = try withConfig { $0["vision_config"] = nil }
        guard case .invalidConfig? = loadError(noVision) else { return XCTFail("\(String(describing: loadError(noVision)))") }
        let heads = try withConfig { json in
            var text = json["text_config"] as? [String: Any] ?? [:]
            text["num_attention_heads"] = 3
            json["text_config"] = text
        }
        guard case let .invalidConfig(_, reason)? = loadError(heads) else { return XCTFail("\(String(describing: loadError(heads)))") }
        XCTAssertTrue(reason.contains("num_attention_heads 3"), reason)
        // A wider model than the weights: the first tensor that disagrees is named.
        let wide = try withConfig { $0["projection_dim"] = 17 }
        XCTAssertEqual(loadError(wide), .model(.unexpectedShape(path: wide.appendingPathComponent("model.safetensors").path, name: "text_projection.weight", expected: "[17, 32]", found: [16, 32])))
        let garbage = try brokenCopy { try Data("{not json".utf8).write(to: $0.appendingPathComponent("config.json")) }
        guard case .invalidConfig? = loadError(garbage) else { return XCTFail("\(String(describing: loadError(garbage)))") }
    }

    func testMissingTensorAndTruncatedWeightsAreNamed() throws {
        // Rename one tensor in the safetensors header (same length, so offsets stay valid).
        let renamed = try brokenCopy { dir in
            let url = dir.appendingPathComponent("model.safetensors")
            var bytes = try [UInt8](Data(contentsOf: url))
            let needle = Array("vision_model.post_layernorm.bias".utf8), replacement = Array("vision_model.post_layernorm.bia_".utf8)
            let at = try XCTUnwrap((0...(bytes.count - needle.count)).first { Array(bytes[$0..<($0 + needle.count)]) == needle })
            bytes.replaceSubrange(at..<(at + needle.count), with: replacement)
            try Data(bytes).write(to: url)
        }
        XCTAssertEqual(loadError(renamed), .model(.missingTensor(path: renamed.path, name: "vision_model.post_layernorm.bias")))
        let truncated = try brokenCopy { dir in
            let url = dir.appendingPathComponent("model.safetensors")
            try Data(contentsOf: url).prefix(100_000).write(to: url)
        }
        guard case .model(.malformed)? = loadError(truncated) else { return XCTFail("\(String(describing: loadError(truncated)))") }
        let tokenizer = try brokenCopy { try Data("{\"model\": {}}".utf8).write(to: $0.appendingPathComponent("tokenizer.json")) }
        guard case .invalidTokenizer? = loadError(tokenizer) else { return XCTFail("\(String(describing: loadError(tokenizer)))") }
    }

    func testOddPicturesEmbed() throws {
        let model = try Self.model.get()
        // 1×1 and very thin pictures are resized up like any other; a huge side is refused.
        for (w, h) in [(1, 1), (1, 300), (500, 2)] {
            let image = try RGBImage(width: w, height: h, pixels: [UInt8](repeating: 128, count: w * h * 3))
            let v = try model.embed(image: image)
            XCTAssertEqual(v.count, 16)
            XCTAssertEqual(v.reduce(0) { $0 + $1 * $1 }, 1, accuracy: 1e-4)
        }
        let huge = try RGBImage(width: 20_000, height: 1, pixels: [UInt8](repeating: 0, count: 60_000))
        XCTAssertThrowsError(try model.embed(image: huge))
    }
}
