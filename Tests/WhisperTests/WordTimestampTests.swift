// Word timestamps (cross-attention alignment heads + DTW) against faster-whisper's greedy
// word_timestamps=True output on every clip: same words, times within one 20 ms frame,
// probabilities within 0.01.
import Foundation
import TestSupport
@testable import Whisper
import XCTest

final class WordTimestampTests: XCTestCase {
    func testTinyEnWordsMatchFasterWhisper() throws {
        let model = "whisper-tiny.en"
        let golden = try GoldenFile.load(model)
        let transcriber = try WhisperTranscriber(directory: try TestModels.directory(model))
        var options = TranscriptionOptions.greedy
        options.wordTimestamps = true
        var compared = 0
        for (name, clip) in golden.clips.sorted(by: { $0.key < $1.key }) {
            let samples = try AudioFixture.samples(Fixtures.path("media/speech/\(name)"))
            let words = try transcriber.transcribe(samples: samples, options: options).segments.flatMap(\.words)
            XCTAssertEqual(words.map(\.word), clip.words.map(\.word), name)
            for (w, g) in zip(words, clip.words) {
                XCTAssertEqual(Double(w.startMs), g.start * 1000, accuracy: 20, "\(name) \(w.word) start")
                XCTAssertEqual(Double(w.endMs), g.end * 1000, accuracy: 20, "\(name) \(w.word) end")
                XCTAssertEqual(try XCTUnwrap(w.probability), g.probability, accuracy: 0.01, "\(name) \(w.word) probability")
                compared += 1
            }
        }
        XCTAssertGreaterThan(compared, 150)
    }

    func testDTWFollowsTheCheapestPath() {
        // Strong diagonal: the path must be monotonic from (0, 0) to (2, 2) and pass through
        // every diagonal cell. (With non-negative weights, extra steps cost nothing, so
        // CTranslate2's tie-breaking also takes the off-diagonal cells it visits here.)
        let x: [Float] = [1, 0, 0,
                          0, 1, 0,
                          0, 0, 1]
        let path = WordAligner.negativeDTW(x, rows: 3, cols: 3)
        XCTAssertEqual(path.map(\.0), [0, 1, 1, 2, 2])
        XCTAssertEqual(path.map(\.1), [0, 0, 1, 1, 2])
        for k in 0..<3 { XCTAssertTrue(path.contains { $0 == (k, k) }) }
        for (a, b) in zip(path, path.dropFirst()) { XCTAssertTrue(b.0 >= a.0 && b.1 >= a.1 && (b.0 - a.0) + (b.1 - a.1) >= 1) }
    }
}
