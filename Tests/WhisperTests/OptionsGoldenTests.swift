// A forced language and `--task translate` against faster-whisper on the same CT2 files
// (greedy, fallback off; golden-options-whisper-base.json from Scripts/golden/whisper_golden.py):
// the same prompt — start, language and task tokens — and the same tokens after it.
import Foundation
import TestSupport
@testable import Whisper
import XCTest

private struct OptionsGolden: Decodable {
    struct Case: Decodable {
        let clip: String
        let language: String?
        let task: String
        let detected_language: String
        let text: String
        let tokens: [Int]
        let first_prompt: [Int]
    }
    let cases: [Case]
}

final class OptionsGoldenTests: XCTestCase {
    func testForcedLanguageAndTranslateMatchFasterWhisper() throws {
        let url = URL(fileURLWithPath: Fixtures.path("speech/golden-options-whisper-base.json"))
        let golden = try JSONDecoder().decode(OptionsGolden.self, from: Data(contentsOf: url))
        XCTAssertTrue(golden.cases.contains { $0.task == "translate" } && golden.cases.contains { $0.language != nil })
        let transcriber = try WhisperTranscriber(directory: try TestModels.directory("whisper-base"))
        let tok = transcriber.tokenizer
        for c in golden.cases {
            let what = "\(c.clip) language \(c.language ?? "auto") task \(c.task)"
            var options = TranscriptionOptions.greedy
            options.language = c.language
            options.task = try XCTUnwrap(WhisperTask(rawValue: c.task), what)
            let samples = try AudioFixture.samples(Fixtures.path("media/speech/\(c.clip)"))
            let result = try transcriber.transcribe(samples: samples, options: options)
            XCTAssertEqual(result.language, c.detected_language, what)
            // The reference's first prompt ends with <|sot|> <|lang|> <|task|> (after any
            // previous-text prompt, empty in the first window).
            let expectedTask = c.task == "translate" ? tok.translate : tok.transcribe
            XCTAssertEqual(Array(c.first_prompt.suffix(3)), [tok.sot, tok.languageTokens[c.detected_language]!, expectedTask], what)
            XCTAssertEqual(result.segments.flatMap(\.tokens), c.tokens, "\(what)\n ours:   \(result.text)\n theirs: \(c.text)")
            XCTAssertEqual(normalizedWhitespace(result.text), normalizedWhitespace(c.text), what)
        }
    }
}
