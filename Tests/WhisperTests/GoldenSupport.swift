// Golden fixtures made by Scripts/golden/whisper_golden.py (faster-whisper 1.2.1 /
// CTranslate2 4.8.5, fp32, 2 threads) and the installed models they were made with.
import Foundation
import ModelIO
import TestSupport
import XCTest

struct GoldenFile: Decodable {
    struct Window: Decodable {
        let prompt: [Int]
        let suppress_tokens: [Int]
        let tokens: [Int]
        let token_logprobs: [Double]
        let margins: [Double]
        let no_speech_prob: Double
    }
    struct Segment: Decodable { let start: Double; let end: Double; let text: String; let tokens: [Int]; let avg_logprob: Double }
    struct Word: Decodable { let start: Double; let end: Double; let word: String; let probability: Double }
    struct Clip: Decodable {
        let samples: Int
        let language: String
        let text: String
        let segments: [Segment]
        let windows: [Window]
        let words: [Word]
        let beam5_text: String
    }
    let model: String
    let clips: [String: Clip]

    static func load(_ model: String) throws -> GoldenFile {
        let data = try Data(contentsOf: URL(fileURLWithPath: Fixtures.path("speech/golden-\(model).json")))
        return try JSONDecoder().decode(GoldenFile.self, from: data)
    }
}

enum TestModels {
    /// The installed model directory, or a failure that says how to install it.
    static func directory(_ name: String, file: StaticString = #filePath, line: UInt = #line) throws -> URL {
        do {
            return try ModelRegistry().resolve(name, requiredFiles: ["model.bin", "config.json", "tokenizer.json"])
        } catch {
            XCTFail("\(error) — the Whisper tests need the real model; run Scripts/fetch-models", file: file, line: line)
            throw error
        }
    }
}

func normalizedWhitespace(_ s: String) -> String {
    s.split(whereSeparator: { $0.isWhitespace }).joined(separator: " ")
}
