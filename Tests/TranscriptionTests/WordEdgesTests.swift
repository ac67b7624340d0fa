// Word times tightened to the voice-activity detector's speech, on made-up probabilities
// (32 ms chunks): speech 0–1 s, silence 1–4 s, speech 4–5 s.
import SpokenWords
@testable import Transcription
import XCTest

final class WordEdgesTests: XCTestCase {
    static let probabilities: [Float] = (0..<160).map { k in
        let t = k * 32
        return t < 1000 || (t >= 4000 && t < 5000) ? 0.9 : 0.05
    }

    func word(_ text: String, _ from: Int64, _ to: Int64) -> TranscriptWord {
        TranscriptWord(startMs: from, endMs: to, word: text, probability: 0.9)
    }

    func testAWordInSilenceBeforeAPauseMovesToWhereSpeechResumes() {
        // The aligner put "unless" in the padding before the pause (1.2–1.5 s).
        let words = [word(" man", 600, 950), word(" unless", 1200, 1500), word(" to", 4200, 4400)]
        let segment = TranscriptSegment(startMs: 600, endMs: 4400, text: " man unless to", words: words)
        let out = WordEdges(probabilities: Self.probabilities).refine([segment])
        XCTAssertEqual(out.map(\.text), [" man", " unless to"])
        let unless = out[1].words[0]
        XCTAssertEqual(unless.startMs, 4000 - 40)
        XCTAssertEqual(unless.endMs, 4000 - 40 + 300)
    }

    func testAWordWithSpeechInItStays() {
        let words = [word(" man", 600, 950), word(" to", 4200, 4400)]
        let segment = TranscriptSegment(startMs: 600, endMs: 4400, text: " man to", words: words)
        let out = WordEdges(probabilities: Self.probabilities).refine([segment])
        XCTAssertEqual(out.map(\.text), [" man", " to"])
        XCTAssertEqual(out[0].words[0].startMs, 600)
        XCTAssertEqual(out[1].words[0].startMs, 4200)
    }
}
