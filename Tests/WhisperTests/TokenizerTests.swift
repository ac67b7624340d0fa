// Tokenizer against the golden token ids faster-whisper produced (HF tokenizers decode),
// encode/decode round trips, and the suppress list faster-whisper passed to CTranslate2.
import Foundation
import TestSupport
@testable import Whisper
import XCTest

final class TokenizerTests: XCTestCase {
    func testDecodeMatchesGoldenSegmentsAndSuppressList() throws {
        for model in ["whisper-tiny.en", "whisper-base"] {
            let dir = try TestModels.directory(model)
            let tok = try WhisperTokenizer(path: dir.appendingPathComponent("tokenizer.json").path)
            let golden = try GoldenFile.load(model)
            for (name, clip) in golden.clips {
                for seg in clip.segments {
                    XCTAssertEqual(tok.decode(seg.tokens), seg.text, "\(model) \(name)")
                }
                let t = WhisperTranscriberSuppress.list(tok)
                XCTAssertEqual(t, clip.windows[0].suppress_tokens, "\(model) suppress list")
            }
            XCTAssertEqual(tok.isMultilingual, model == "whisper-base")
            XCTAssertEqual(tok.timestampBegin, model == "whisper-base" ? 50364 : 50363)
        }
    }

    func testRoundTripsAndKnownIds() throws {
        let dir = try TestModels.directory("whisper-base")
        let tok = try WhisperTokenizer(path: dir.appendingPathComponent("tokenizer.json").path)
        // " And so my fellow Americans" from the jfk golden tokens.
        XCTAssertEqual(tok.encode(" And so my fellow Americans"), [400, 370, 452, 7177, 6280])
        for text in [" Hello, world!", "It's 12:30 — naïve café, 北京欢迎你", "  two  spaces\nand lines\n\n", "emoji 🙂 ok", " don't we'll I'M"] {
            XCTAssertEqual(tok.decode(tok.encode(text)), text)
        }
        XCTAssertEqual(try tok.sotSequence(language: "de", task: .translate), [50258, tok.languageTokens["de"]!, 50358])
        XCTAssertEqual(tok.decodeWithTimestamps([50364, 400, 50414]), "<|0.00|> And<|1.00|>")
        XCTAssertThrowsError(try tok.sotSequence(language: "xx", task: .transcribe))
    }

    func testPreTokenizerSplitsLikeGPT2() {
        XCTAssertEqual(WhisperTokenizer.preTokenize("Hello world's  end!!\n"), ["Hello", " world", "'s", " ", " end", "!!", "\n"])
        XCTAssertEqual(WhisperTokenizer.preTokenize(" 123abc"), [" 123", "abc"])
    }
}

/// The suppress list the transcriber passes for suppress_tokens = [-1].
enum WhisperTranscriberSuppress {
    static func list(_ tok: WhisperTokenizer) -> [Int] {
        Array(Set(tok.nonSpeechTokens + [tok.transcribe, tok.translate, tok.sot, tok.sotPrev, tok.sotLM, tok.noSpeech])).sorted()
    }
}
