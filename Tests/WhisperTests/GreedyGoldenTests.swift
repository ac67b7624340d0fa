// Greedy decoding (temperature fallback off, fp32) on every speech clip equals
// faster-whisper's text with the same CT2 model files. Where the token sequences diverge,
// the test requires the first differing step to be a numerical tie in the reference
// (log-probability margin < 1e-3), as the acceptance rule says.
import Foundation
import TestSupport
@testable import Whisper
import XCTest

final class GreedyGoldenTests: XCTestCase {
    func testTinyEnGreedyMatchesFasterWhisper() throws { try check("whisper-tiny.en") }
    func testBaseGreedyMatchesFasterWhisper() throws { try check("whisper-base") }

    private func check(_ model: String) throws {
        let golden = try GoldenFile.load(model)
        let transcriber = try WhisperTranscriber(directory: try TestModels.directory(model))
        XCTAssertEqual(golden.clips.count, 14)
        for (name, clip) in golden.clips.sorted(by: { $0.key < $1.key }) {
            let samples = try AudioFixture.samples(Fixtures.path("media/speech/\(name)"))
            XCTAssertEqual(samples.count, clip.samples, "\(name): decoded sample count")
            let result = try transcriber.transcribe(samples: samples, options: .greedy)
            XCTAssertEqual(result.language, clip.language, "\(model) \(name)")
            let ours = result.segments.flatMap(\.tokens)
            let theirs = clip.segments.flatMap(\.tokens)
            if normalizedWhitespace(result.text) != normalizedWhitespace(clip.text) {
                let first = zip(ours, theirs).enumerated().first { $0.element.0 != $0.element.1 }?.offset ?? min(ours.count, theirs.count)
                let margin = first < clip.windows[0].margins.count ? abs(clip.windows[0].margins[first]) : .infinity
                XCTAssertLessThan(margin, 1e-3, "\(model) \(name): text differs at token \(first) without a tie\n ours:   \(result.text)\n theirs: \(clip.text)")
            } else {
                XCTAssertEqual(ours, theirs, "\(model) \(name): same text, tokens differ")
            }
            for (s, g) in zip(result.segments, clip.segments) {
                XCTAssertEqual(Double(s.startMs), g.start * 1000, accuracy: 1, "\(name) segment start")
                XCTAssertEqual(Double(s.endMs), g.end * 1000, accuracy: 1, "\(name) segment end")
                XCTAssertEqual(Double(s.avgLogprob), g.avg_logprob, accuracy: 2e-3, "\(name) avg logprob")
            }
            XCTAssertEqual(Double(result.segments.first?.noSpeechProb ?? -1), clip.windows[0].no_speech_prob, accuracy: 2e-3, "\(name) no-speech prob")
        }
    }
}
