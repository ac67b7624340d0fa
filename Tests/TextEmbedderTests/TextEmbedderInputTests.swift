// Bad and odd inputs (empty strings, invalid UTF-8, a megabyte of text) give sane vectors,
// and broken model directories give errors naming the file, never a trap.
import Foundation
import ModelIO
import TestSupport
import XCTest
@testable import TextEmbedder

final class TextEmbedderInputTests: XCTestCase {
    private func assertUnit(_ v: [Float], file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(v.count, 384, file: file, line: line)
        XCTAssertTrue(v.allSatisfy(\.isFinite), file: file, line: line)
        let norm = v.reduce(0) { $0 + Double($1) * Double($1) }.squareRoot()
        XCTAssertEqual(norm, 1, accuracy: 1e-5, file: file, line: line)
    }

    func testEmptyAndBlankTextsEmbedClsSep() throws {
        let embedder = try TextFixtures.embedder()
        let vectors = embedder.embed(["", " ", "\u{0}\u{7}\u{FFFD}"])
        for v in vectors { assertUnit(v) }
        // Nothing survives normalization in any of them: all three are [CLS] [SEP].
        XCTAssertEqual(embedder.tokenizer.encode("\u{0}\u{7}\u{FFFD}"), [101, 102])
        XCTAssertLessThanOrEqual(maxAbsDiff(vectors[0], vectors[2]), 1e-6)
        XCTAssertEqual(embedder.embed([String]()).count, 0)
    }

    func testInvalidUTF8IsReplacedAndDropped() throws {
        let embedder = try TextFixtures.embedder()
        var bytes = Array("sports car".utf8)
        bytes.insert(contentsOf: [0xFF, 0xC3, 0x28, 0xED, 0xA0, 0x80], at: 6) // invalid byte, bad continuation, UTF-16 surrogate
        let text = String(decoding: bytes, as: UTF8.self) // invalid sequences become U+FFFD
        XCTAssertTrue(text.unicodeScalars.contains("\u{FFFD}"))
        // U+FFFD is dropped like the reference drops it; the "(" stays a punctuation token.
        XCTAssertEqual(embedder.tokenizer.encode(text), embedder.tokenizer.encode("sports(car"))
        assertUnit(embedder.embed(text))
    }

    /// 1 MB of text is truncated to the first 254 pieces (tokenization stops there), and the
    /// vector equals that of the text's beginning.
    func testMegabyteOfTextIsTruncated() throws {
        let embedder = try TextFixtures.embedder()
        let sentence = "the camera saw a red car stop at the gate and a person got out. "
        let huge = String(repeating: sentence, count: (1 << 20) / sentence.utf8.count + 1)
        XCTAssertGreaterThan(huge.utf8.count, 1 << 20)
        let ids = embedder.tokenizer.encode(huge)
        XCTAssertEqual(ids.count, 256)
        XCTAssertEqual(ids.first, 101)
        XCTAssertEqual(ids.last, 102)
        let prefix = String(repeating: sentence, count: 30) // 30 × 16 pieces > 254
        XCTAssertEqual(ids, embedder.tokenizer.encode(prefix))
        let v = embedder.embed(huge)
        assertUnit(v)
        XCTAssertLessThanOrEqual(maxAbsDiff(v, embedder.embed(prefix)), 1e-6)
        // One 1 MB "word" without spaces: a single [UNK].
        XCTAssertEqual(embedder.tokenizer.encode(String(repeating: "x", count: 1 << 20)), [101, 100, 102])
    }

    func testWordPieceSplitsAndUnknowns() throws {
        let tokenizer = try TextFixtures.embedder().tokenizer
        let pieces = { (t: String) in tokenizer.encode(t).dropFirst().dropLast().map { tokenizer.piece($0)! } }
        XCTAssertEqual(pieces("Hello, WORLD!"), ["hello", ",", "world", "!"])
        XCTAssertEqual(pieces("Ångström naïve"), ["ang", "##strom", "naive"])
        XCTAssertEqual(pieces("我爱"), ["我", "[UNK]"]) // each ideograph a word; 爱 is not in this vocabulary
        XCTAssertEqual(pieces("the [MASK] mat"), ["the", "[MASK]", "mat"])
        XCTAssertEqual(pieces("$5.99"), ["$", "5", ".", "99"])
        XCTAssertEqual(pieces("🍕"), ["[UNK]"])
        XCTAssertEqual(pieces(String(repeating: "a", count: 100)).first?.hasPrefix("a"), true)
    }
}

final class TextEmbedderLoaderTests: XCTestCase {
    private var scratch: URL!

    override func setUpWithError() throws {
        scratch = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("text-embedder-\(getpid())-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: scratch) }

    /// A copy of the tiny checkpoint that a test may break.
    private func tinyCopy() throws -> URL {
        let dir = scratch.appendingPathComponent("tiny")
        try FileManager.default.copyItem(at: URL(fileURLWithPath: Fixtures.path("text/tiny-bert")), to: dir)
        return dir
    }

    func testMissingDirectory() {
        XCTAssertThrowsError(try TextEmbedder(directory: scratch.appendingPathComponent("nope"))) { error in
            guard case let .invalidConfig(path, _) = error as? TextEmbedderError else { return XCTFail("\(error)") }
            XCTAssertTrue(path.hasSuffix("nope/config.json"))
        }
    }

    func testTruncatedWeights() throws {
        let dir = try tinyCopy()
        let weights = dir.appendingPathComponent("model.safetensors")
        let data = try Data(contentsOf: weights)
        try data.prefix(data.count / 2).write(to: weights)
        XCTAssertThrowsError(try TextEmbedder(directory: dir)) { error in
            guard case let .model(.malformed(path, _, _)) = error as? TextEmbedderError else { return XCTFail("\(error)") }
            XCTAssertEqual(path, weights.path)
        }
    }

    func testConfigDisagreeingWithWeightsNamesTheTensor() throws {
        let dir = try tinyCopy()
        let config = dir.appendingPathComponent("config.json")
        var json = try JSONSerialization.jsonObject(with: Data(contentsOf: config)) as! [String: Any]
        json["intermediate_size"] = 50
        try JSONSerialization.data(withJSONObject: json).write(to: config)
        XCTAssertThrowsError(try TextEmbedder(directory: dir)) { error in
            guard case let .model(.unexpectedShape(_, name, _, found)) = error as? TextEmbedderError else { return XCTFail("\(error)") }
            XCTAssertEqual(name, "encoder.layer.0.intermediate.dense.weight")
            XCTAssertEqual(found, [48, 32])
        }
    }

    func testBadConfigValues() throws {
        let dir = try tinyCopy()
        let config = dir.appendingPathComponent("config.json")
        var json = try JSONSerialization.jsonObject(with: Data(contentsOf: config)) as! [String: Any]
        json["num_attention_heads"] = 5 // 32 is not a multiple of 5
        try JSONSerialization.data(withJSONObject: json).write(to: config)
        XCTAssertThrowsError(try TextEmbedder(directory: dir)) { error in
            guard case .invalidConfig = error as? TextEmbedderError else { return XCTFail("\(error)") }
        }
        json["num_attention_heads"] = -4
        try JSONSerialization.data(withJSONObject: json).write(to: config)
        XCTAssertThrowsError(try TextEmbedder(directory: dir))
        json["num_attention_heads"] = 4
        json["hidden_act"] = "swish"
        try JSONSerialization.data(withJSONObject: json).write(to: config)
        XCTAssertThrowsError(try TextEmbedder(directory: dir)) { error in
            guard case .unsupported = error as? TextEmbedderError else { return XCTFail("\(error)") }
        }
    }

    /// vocab.txt + tokenizer_config.json (no tokenizer.json) give the same ids as tokenizer.json.
    func testVocabularyFileTokenizesAsTokenizerJSON() throws {
        let golden = try TextFixtures.golden("minilm_golden.json")
        let dir = scratch.appendingPathComponent("vocab-only")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        for f in ["vocab.txt", "tokenizer_config.json"] {
            try FileManager.default.copyItem(at: TextFixtures.modelDirectory.appendingPathComponent(f), to: dir.appendingPathComponent(f))
        }
        let tokenizer = try WordPieceTokenizer(directory: dir, maxLength: golden.max_seq_length)
        for c in golden.cases { XCTAssertEqual(tokenizer.encode(c.text), c.ids, c.text) }
    }

    func testVocabularyWithoutSpecialTokens() throws {
        let dir = try tinyCopy()
        try FileManager.default.removeItem(at: dir.appendingPathComponent("tokenizer.json"))
        try Data("a\nb\nc\n".utf8).write(to: dir.appendingPathComponent("vocab.txt"))
        XCTAssertThrowsError(try TextEmbedder(directory: dir)) { error in
            guard case let .invalidVocabulary(_, reason) = error as? TextEmbedderError else { return XCTFail("\(error)") }
            XCTAssertTrue(reason.contains("[CLS]"), reason)
        }
        try FileManager.default.removeItem(at: dir.appendingPathComponent("vocab.txt"))
        XCTAssertThrowsError(try TextEmbedder(directory: dir))
    }

    func testTokenizerJSONOfAnotherModelTypeIsRejected() throws {
        let dir = try tinyCopy()
        let url = dir.appendingPathComponent("tokenizer.json")
        var json = try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as! [String: Any]
        json["pre_tokenizer"] = ["type": "ByteLevel"]
        try JSONSerialization.data(withJSONObject: json).write(to: url)
        XCTAssertThrowsError(try TextEmbedder(directory: dir)) { error in
            guard case let .unsupported(path, reason) = error as? TextEmbedderError else { return XCTFail("\(error)") }
            XCTAssertEqual(path, url.path)
            XCTAssertTrue(reason.contains("ByteLevel"), reason)
        }
    }

    func testUnsupportedPooling() throws {
        let dir = try tinyCopy()
        let pooling = dir.appendingPathComponent("1_Pooling/config.json")
        try Data(#"{"word_embedding_dimension": 32, "pooling_mode_max_tokens": true}"#.utf8).write(to: pooling)
        XCTAssertThrowsError(try TextEmbedder(directory: dir)) { error in
            guard case let .unsupported(path, _) = error as? TextEmbedderError else { return XCTFail("\(error)") }
            XCTAssertEqual(path, pooling.path)
        }
    }
}
