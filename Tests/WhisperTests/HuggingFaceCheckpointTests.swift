// The Hugging Face layout (model.safetensors + config.json + generation_config.json, as
// `openai/whisper-*` on the Hub) against transformers on the same weights: a tiny random
// checkpoint made and run by Scripts/golden/whisper_hf_tiny.py (float16 weights, fp32
// maths). Encoder rows, forced-decoding logits and an argmax continuation through the KV
// cache must match what transformers computed.
import Foundation
import Kernels
import ModelIO
import TestSupport
import Whisper
import XCTest

private struct HuggingFaceGolden: Decodable {
    struct Input: Decodable { let logmel: String; let clip_frames: Int; let frames: Int }
    struct Config: Decodable {
        let d_model: Int; let layers: [Int]; let heads: [Int]; let vocab: Int
        let alignment_heads: [[Int]]; let suppress_tokens: [Int]; let begin_suppress_tokens: [Int]
    }
    struct Encoder: Decodable { let shape: [Int]; let rows: [String: [Double]]; let row_sums: [Double] }
    struct Decoder: Decodable {
        let tokens: [Int]; let top5_ids: [[Int]]; let top5_logits: [[Double]]; let logsumexp: [Double]
        let probe_ids: [Int]; let probe_logits: [[Double]]
    }
    struct Greedy: Decodable { let prompt: [Int]; let tokens: [Int]; let margins: [Double] }
    let input: Input
    let config: Config
    let encoder: Encoder
    let decoder: Decoder
    let greedy: Greedy
}

final class HuggingFaceCheckpointTests: XCTestCase {
    private static let directory = URL(fileURLWithPath: Fixtures.path("speech/whisper-hf-tiny"))

    private func golden() throws -> HuggingFaceGolden {
        try JSONDecoder().decode(HuggingFaceGolden.self, from: Data(contentsOf: Self.directory.appendingPathComponent("golden.json")))
    }

    /// The golden input: the reference log-mel of a real clip, tiled along time to 3000 frames.
    private func inputMel(_ g: HuggingFaceGolden) throws -> [Float] {
        let data = try Data(contentsOf: URL(fileURLWithPath: Fixtures.path("speech/\(g.input.logmel)")))
        let clip = data.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) } // (80, clipFrames)
        let n = g.input.clip_frames
        XCTAssertEqual(clip.count, 80 * n)
        var mel = [Float](repeating: 0, count: 80 * g.input.frames) // (80, 3000)
        for m in 0..<80 { for t in 0..<g.input.frames { mel[m * g.input.frames + t] = clip[m * n + t % n] } }
        return mel
    }

    func testConfigComesFromConfigAndGenerationConfig() throws {
        let g = try golden()
        let model = try WhisperModel(directory: Self.directory)
        let c = model.config
        XCTAssertEqual(c.dModel, g.config.d_model)
        XCTAssertEqual([c.encoderLayers, c.decoderLayers], g.config.layers)
        XCTAssertEqual([c.encoderHeads, c.decoderHeads], g.config.heads)
        XCTAssertEqual(c.vocabularySize, g.config.vocab)
        XCTAssertEqual([c.encoderPositions, c.decoderPositions], [1500, 448])
        XCTAssertEqual(c.alignmentHeads.map { [$0.layer, $0.head] }, g.config.alignment_heads)
        XCTAssertEqual(c.suppressIDs, g.config.suppress_tokens)
        XCTAssertEqual(c.suppressIDsBegin, g.config.begin_suppress_tokens)
        XCTAssertFalse(model.isMultilingual)
    }

    func testEncoderMatchesTransformers() throws {
        let g = try golden()
        let model = try WhisperModel(directory: Self.directory)
        let d = model.config.dModel, n = model.config.encoderPositions
        XCTAssertEqual(g.encoder.shape, [n, d])
        let mel = try inputMel(g)
        var out = [Float](repeating: .nan, count: n * d) // (1500, d)
        try mel.withUnsafeBufferPointer { m in
            try out.withUnsafeMutableBufferPointer { try model.encode(mel: m.baseAddress!, output: $0.baseAddress!) }
        }
        var worst = 0.0
        for (key, expected) in g.encoder.rows {
            let r = Int(key)!
            for c in 0..<d { worst = max(worst, abs(Double(out[r * d + c]) - expected[c])) }
        }
        // Outputs are layer-normed (order 1); fp32 with different summation orders.
        XCTAssertLessThan(worst, 2e-4, "largest encoder difference on the sampled rows")
        var worstSum = 0.0
        for r in 0..<n {
            let sum = (0..<d).reduce(0.0) { $0 + Double(out[r * d + $1]) }
            worstSum = max(worstSum, abs(sum - g.encoder.row_sums[r]))
        }
        XCTAssertLessThan(worstSum, 2e-3, "largest difference of a row's sum over all 1500 rows")
    }

    func testForcedDecodingAndCachedGreedyMatchTransformers() throws {
        let g = try golden()
        let model = try WhisperModel(directory: Self.directory)
        let c = model.config, d = c.dModel, n = c.encoderPositions, vocab = c.vocabularySize
        let mel = try inputMel(g)
        let encoded = UnsafeMutablePointer<Float>.allocate(capacity: n * d) // (1500, d)
        defer { encoded.deallocate() }
        try mel.withUnsafeBufferPointer { try model.encode(mel: $0.baseAddress!, output: encoded) }
        let state = WhisperDecoderState(config: c, slots: 1)
        model.prepareCross(encoded: encoded, state: state)

        // Forced decoding: every row's logits in one pass.
        let tokens = g.decoder.tokens, rows = tokens.count
        var logits = [Float](repeating: .nan, count: rows * vocab) // (rows, vocab)
        state.reset()
        logits.withUnsafeMutableBufferPointer {
            model.decode(tokens: tokens, slots: Array(repeating: 0, count: rows), positions: Array(0..<rows), state: state,
                         logitRows: Array(0..<rows), logits: $0.baseAddress!)
        }
        var worst = 0.0
        for r in 0..<rows {
            let row = Array(logits[(r * vocab)..<((r + 1) * vocab)])
            let top5 = row.indices.sorted { row[$0] > row[$1] }.prefix(5)
            XCTAssertEqual(Array(top5), g.decoder.top5_ids[r], "row \(r) top-5 ids")
            for (i, id) in g.decoder.top5_ids[r].enumerated() { worst = max(worst, abs(Double(row[id]) - g.decoder.top5_logits[r][i])) }
            for (i, id) in g.decoder.probe_ids.enumerated() { worst = max(worst, abs(Double(row[id]) - g.decoder.probe_logits[r][i])) }
            let m = Double(row.max()!)
            let lse = m + log(row.reduce(0.0) { $0 + exp(Double($1) - m) })
            worst = max(worst, abs(lse - g.decoder.logsumexp[r]))
        }
        XCTAssertLessThan(worst, 1e-3, "largest logit difference (logits are order 10)")

        // Argmax continuation, one token at a time through the KV cache (the reference re-ran
        // the whole sequence at each step).
        state.reset()
        let prompt = g.greedy.prompt
        var step = [Float](repeating: 0, count: vocab)
        step.withUnsafeMutableBufferPointer {
            model.decode(tokens: prompt, slots: Array(repeating: 0, count: prompt.count), positions: Array(0..<prompt.count),
                         state: state, logitRows: [prompt.count - 1], logits: $0.baseAddress!)
        }
        var chosen: [Int] = []
        for i in 0..<g.greedy.tokens.count {
            let best = step.indices.max { step[$0] < step[$1] }!
            chosen.append(best)
            XCTAssertGreaterThan(g.greedy.margins[i], 1e-3, "step \(i) is a near-tie in the reference; regenerate with another seed")
            step.withUnsafeMutableBufferPointer {
                model.decode(tokens: [best], slots: [0], positions: [prompt.count + i], state: state, logitRows: [0], logits: $0.baseAddress!)
            }
        }
        XCTAssertEqual(chosen, g.greedy.tokens)
    }

    /// The whole recogniser on the Hugging Face layout: the tokenizer is read beside the
    /// checkpoint (here whisper-tiny.en's, whose vocabulary the random model shares).
    func testTranscriberLoadsTheHuggingFaceLayout() throws {
        let tiny = try TestModels.directory("whisper-tiny.en")
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("whisper-hf-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        for name in ["config.json", "generation_config.json", "model.safetensors"] {
            try FileManager.default.createSymbolicLink(at: dir.appendingPathComponent(name), withDestinationURL: Self.directory.appendingPathComponent(name))
        }
        try FileManager.default.createSymbolicLink(at: dir.appendingPathComponent("tokenizer.json"), withDestinationURL: tiny.appendingPathComponent("tokenizer.json"))
        let transcriber = try WhisperTranscriber(model: dir.path)
        XCTAssertEqual(transcriber.model.config.dModel, 32)
        XCTAssertEqual(transcriber.tokenizer.vocabularySize, 51864)
        XCTAssertEqual(transcriber.tokenizer.sot, 50257)
    }

    func testDirectoryWithoutWeightsSaysWhichFilesItLooksFor() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("whisper-empty-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        try Data("{}".utf8).write(to: dir.appendingPathComponent("config.json"))
        XCTAssertThrowsError(try WhisperModel(directory: dir)) { error in
            XCTAssertTrue("\(error)".contains("neither model.bin (CTranslate2) nor model.safetensors"), "\(error)")
        }
        // A safetensors checkpoint whose config is not Whisper's.
        try FileManager.default.createSymbolicLink(at: dir.appendingPathComponent("model.safetensors"),
                                                   withDestinationURL: Self.directory.appendingPathComponent("model.safetensors"))
        try Data(#"{"model_type": "bert", "d_model": 32}"#.utf8).write(to: dir.appendingPathComponent("config.json"))
        XCTAssertThrowsError(try WhisperModel(directory: dir)) { error in
            XCTAssertTrue("\(error)".contains("model_type is \"bert\", not \"whisper\""), "\(error)")
        }
    }
}
