// The text embedder against Hugging Face `tokenizers` and sentence-transformers on the same
// all-MiniLM-L6-v2 files (golden outputs from Scripts/golden/minilm_golden.py, in
// Tests/Fixtures/text): token ids identical, embeddings at cosine >= 0.9999, batched and
// single embeddings the same, and the generic BERT loader on a tiny random checkpoint.
import Foundation
import Kernels
import ModelIO
import TestSupport
import XCTest
@testable import TextEmbedder

struct GoldenCase: Decodable {
    let text: String
    let ids: [Int32]
    let embedding: [Float]
}

struct GoldenFile: Decodable {
    let max_seq_length: Int
    let cases: [GoldenCase]
}

enum TextFixtures {
    static func golden(_ name: String) throws -> GoldenFile {
        try JSONDecoder().decode(GoldenFile.self, from: Data(contentsOf: URL(fileURLWithPath: Fixtures.path("text/\(name)"))))
    }

    static var modelDirectory: URL { URL(fileURLWithPath: Fixtures.modelsDirectory).appendingPathComponent("minilm-l6-v2") }

    /// The MiniLM embedder, loaded once for the whole test run.
    nonisolated(unsafe) private static var cached: TextEmbedder?
    static func embedder(file: StaticString = #filePath, line: UInt = #line) throws -> TextEmbedder {
        if let cached { return cached }
        do {
            let e = try TextEmbedder(directory: modelDirectory)
            cached = e
            return e
        } catch {
            XCTFail("MiniLM model missing: \(error). Run Scripts/fetch-models minilm-l6-v2 (or set SIGHTLINE_MODELS).", file: file, line: line)
            throw error
        }
    }
}

func cosine(_ a: [Float], _ b: [Float]) -> Double {
    var dot = 0.0, na = 0.0, nb = 0.0
    for (x, y) in zip(a, b) { dot += Double(x) * Double(y); na += Double(x) * Double(x); nb += Double(y) * Double(y) }
    return dot / max((na * nb).squareRoot(), 1e-30)
}

func maxAbsDiff(_ a: [Float], _ b: [Float]) -> Float {
    zip(a, b).reduce(0) { max($0, abs($1.0 - $1.1)) }
}

final class TextEmbedderGoldenTests: XCTestCase {
    func testTokenIDsEqualTokenizers() throws {
        let golden = try TextFixtures.golden("minilm_golden.json")
        let tokenizer = try TextFixtures.embedder().tokenizer
        XCTAssertEqual(tokenizer.maxLength, golden.max_seq_length)
        XCTAssertEqual(golden.cases.count, 50)
        for c in golden.cases {
            XCTAssertEqual(tokenizer.encode(c.text), c.ids, "text: \(c.text.debugDescription.prefix(120))")
        }
        // Spot checks that pin the fixture's meaning, not just its agreement.
        let ids = { (t: String) in golden.cases.first { $0.text == t }!.ids }
        XCTAssertEqual(ids(""), [101, 102])
        XCTAssertEqual(ids("unbelievable").count, 3) // [CLS] unbelievable [SEP]: a whole word in this vocabulary
        XCTAssertEqual(ids(String(repeating: "a", count: 101)), [101, 100, 102]) // over 100 scalars: [UNK]
        XCTAssertEqual(golden.cases.last!.ids.count, 256) // the long text, truncated
    }

    /// Every Unicode scalar on its own, in 1024-scalar chunks: id count and hash per chunk.
    func testEveryUnicodeScalarTokenizesAsTokenizers() throws {
        struct Digest: Decodable { let chunk: Int; let separator: String; let chunks: [[UInt32]] }
        let digest = try JSONDecoder().decode(Digest.self, from: Data(contentsOf: URL(fileURLWithPath: Fixtures.path("text/minilm_unicode_digest.json"))))
        let tokenizer = try WordPieceTokenizer(directory: TextFixtures.modelDirectory, maxLength: 1 << 20)
        XCTAssertEqual(digest.chunks.count, 1086) // 1088 minus the two chunks of surrogates
        var mismatched: [String] = []
        for entry in digest.chunks {
            let start = entry[0]
            let scalars = (start..<start + UInt32(digest.chunk)).compactMap(Unicode.Scalar.init)
            var text = String.UnicodeScalarView()
            for (k, s) in scalars.enumerated() {
                if k > 0 { text.append(contentsOf: digest.separator.unicodeScalars) }
                text.append(s)
            }
            let ids = tokenizer.encode(String(text))
            if UInt32(ids.count) != entry[1] || fnv1a(ids) != entry[2] {
                mismatched.append(String(format: "U+%04X (%d ids, expected %d)", start, ids.count, entry[1]))
            }
        }
        XCTAssertEqual(mismatched, [], "chunks whose tokens differ from tokenizers'")
    }

    func testEmbeddingsMatchSentenceTransformers() throws {
        let golden = try TextFixtures.golden("minilm_golden.json")
        let embedder = try TextFixtures.embedder()
        var worstCosine = 1.0, worstDiff: Float = 0
        for c in golden.cases {
            let v = embedder.embed(c.text)
            XCTAssertEqual(v.count, 384)
            worstCosine = min(worstCosine, cosine(v, c.embedding))
            worstDiff = max(worstDiff, maxAbsDiff(v, c.embedding))
        }
        print("MiniLM vs sentence-transformers over \(golden.cases.count) texts: min cosine \(worstCosine), max |diff| \(worstDiff)")
        XCTAssertGreaterThanOrEqual(worstCosine, 0.9999)
        XCTAssertLessThan(worstDiff, 1e-4)
    }

    func testBatchEqualsSingle() throws {
        let golden = try TextFixtures.golden("minilm_golden.json")
        let embedder = try TextFixtures.embedder()
        let texts = golden.cases.map(\.text)
        let batched = embedder.embed(texts)
        XCTAssertEqual(batched.count, texts.count)
        var worst: Float = 0
        for (t, b) in zip(texts, batched) { worst = max(worst, maxAbsDiff(b, embedder.embed(t))) }
        print("MiniLM batch of \(texts.count) vs one by one: max |diff| \(worst)")
        XCTAssertLessThanOrEqual(worst, 1e-6)
        // A batch split over several passes (more tokens than one pass holds) gives the same.
        let many = Array(repeating: golden.cases.last!.text, count: TextEmbedder.maxTokensPerPass / 256 + 2) + ["sports car"]
        let split = embedder.embed(many)
        XCTAssertLessThanOrEqual(maxAbsDiff(split.last!, embedder.embed("sports car")), 1e-6)
        XCTAssertLessThanOrEqual(maxAbsDiff(split[0], batched.last!), 1e-6)
    }

    /// The kernels' plain reference paths give the same embeddings as the optimised ones.
    func testReferenceKernelsAgree() throws {
        let embedder = try TextFixtures.embedder()
        let texts = ["a person at the door", "Price: $5.99 + tax"]
        let fast = embedder.embed(texts)
        KernelConfig.forceReference = true
        defer { KernelConfig.forceReference = false }
        let reference = embedder.embed(texts)
        for (f, r) in zip(fast, reference) {
            XCTAssertGreaterThanOrEqual(cosine(f, r), 0.999_999)
            XCTAssertLessThan(maxAbsDiff(f, r), 2e-6)
        }
    }

    /// The generic loader on a tiny random BERT (other sizes, gelu_new, cased vocabulary,
    /// [CLS] pooling, max_seq_length 12) saved by sentence-transformers.
    func testTinyRandomCheckpointMatchesSentenceTransformers() throws {
        let golden = try TextFixtures.golden("tiny_bert_golden.json")
        let embedder = try TextEmbedder(directory: URL(fileURLWithPath: Fixtures.path("text/tiny-bert")))
        XCTAssertEqual(embedder.dimension, 32)
        XCTAssertEqual(embedder.pooling, .cls)
        XCTAssertEqual(embedder.tokenizer.maxLength, 12)
        XCTAssertEqual(embedder.model.config.activation, .geluTanh)
        for c in golden.cases {
            XCTAssertEqual(embedder.tokenizer.encode(c.text), c.ids, c.text)
            let v = embedder.embed(c.text)
            XCTAssertGreaterThanOrEqual(cosine(v, c.embedding), 0.9999, c.text)
            XCTAssertLessThan(maxAbsDiff(v, c.embedding), 1e-4, c.text)
        }
        XCTAssertEqual(golden.cases.first { $0.text == "café" }!.ids, [2, 19, 21, 3]) // accents kept: "caf" "##é"
    }
}

func fnv1a(_ ids: [Int32]) -> UInt32 {
    var h: UInt32 = 0x811C_9DC5
    for id in ids {
        withUnsafeBytes(of: UInt32(bitPattern: id).littleEndian) { bytes in
            for b in bytes { h = (h ^ UInt32(b)) &* 0x0100_0193 }
        }
    }
    return h
}
