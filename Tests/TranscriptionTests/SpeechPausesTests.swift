// Speech that pauses, through the whole file path with the real models (MediaIO → Silero VAD
// → Whisper base, beam 5 → cues): the speech-pauses set (Tests/Fixtures/speech-pauses, built
// by Scripts/make-pause-fixtures) has silences of 1.5, 3 and 6 s inserted mid-sentence and
// between sentences, and three sentences 4 s apart. For SRT, WebVTT and JSON with and without
// word timestamps, VAD on and off: every cue and segment starts within 200 ms of its first
// word's true start and ends within 200 ms of its last word's true end (a cue stretched to
// the 0.7 s minimum may end later), no cue or segment spans an inserted pause, and no
// sentence is missing. Words are always aligned internally, so one transcription per case
// and VAD setting gives all four outputs.
import SpokenWords
import Foundation
import Subtitles
import TestSupport
@testable import Transcription
import XCTest

final class SpeechPausesTests: XCTestCase {
    func testFilePathWithVAD() throws { try check(vad: true) }
    func testFilePathWithoutVAD() throws { try check(vad: false) }

    private func check(vad: Bool) throws {
        let cases = try PauseCase.all().filter { $0.name != "lecture" }
        XCTAssertEqual(cases.count, 10)
        var problems: [String] = []
        for c in cases {
            let path = NSTemporaryDirectory() + "sightline-pauses-\(getpid())-\(c.name).wav"
            try c.writeWAV(to: path)
            defer { try? FileManager.default.removeItem(atPath: path) }
            var job = TranscriptionJob(input: path)
            job.vad = vad
            let transcript = try job.transcript()
            XCTAssertEqual(transcript.unrecognized, [], c.name)
            for (format, words) in [(SubtitleFormat.srt, false), (.vtt, false), (.json, false), (.json, true)] {
                job.options.wordTimestamps = words
                let out = try job.render(transcript, as: format)
                let spans = format == .json ? try TimedText.segments(ofJSON: out) : TimedText.cues(of: out)
                XCTAssertFalse(spans.isEmpty, "\(c.name) \(format)")
                problems += c.problems(spans, minDurationMs: format == .json ? 0 : 700).map { "\(format) words=\(words): \($0)" }
                if format == .json {
                    let hasWords = out.contains("\"word\":")
                    XCTAssertEqual(hasWords, words, "\(c.name): JSON words only when asked for")
                }
            }
        }
        XCTAssertEqual(problems, [], problems.joined(separator: "\n"))
    }

    func testThreeSentencesFourSecondsApartAllComeOut() throws {
        // The middle sentence (LDC93S1, 3 s) used to vanish from the joined decode.
        let c = try PauseCase.named("three-sentences")
        let path = NSTemporaryDirectory() + "sightline-three-\(getpid()).wav"
        try c.writeWAV(to: path)
        defer { try? FileManager.default.removeItem(atPath: path) }
        var job = TranscriptionJob(input: path)
        job.format = .txt
        // Text output breaks lines at cues (JFK's 1.2 s pause after "ask not" ends one).
        let text = try job.run().lowercased().split(whereSeparator: \.isWhitespace).joined(separator: " ")
        XCTAssertTrue(text.contains("ask not what your country"), text)
        // Whisper base hears "dark suit" as "ducksuit" here, and "wash water" as "washwater" (fp32)
        // or "wash for" (bf16); the rest of the sentence identifies it.
        XCTAssertTrue(text.contains("in greasy wash"), text)
        XCTAssertTrue(text.contains("all year"), text)
        XCTAssertTrue(text.contains("dashwood"), text)
    }

    func testRegionWithoutTextIsDecodedAloneThenReported() throws {
        // A recogniser that hears nothing: every speech region is tried once more on its own
        // and then listed, with its media time, as unrecognised.
        let c = try PauseCase.named("three-sentences")
        let fake = SilentRecognizer()
        let t = try FileTranscriber(recognizer: fake, gate: SpeechGate(weights: try SpeechGateTests.weights()))
            .transcribe(samples: try c.samples())
        XCTAssertEqual(t.segments, [])
        XCTAssertGreaterThanOrEqual(t.unrecognized.count, 3)
        XCTAssertEqual(fake.calls, 1 + t.unrecognized.count)
        // Each sentence's speech (true words 0.32–10.36, 15.20–17.70, 21.98–28.70 s) is reported.
        for (from, to) in [(Int64(320), Int64(10_360)), (15_200, 17_700), (21_984, 28_704)] {
            XCTAssertTrue(t.unrecognized.contains { $0.startMs <= from + 100 && $0.endMs > from },
                          "no unrecognised region at \(from) ms: \(t.unrecognized)")
            XCTAssertTrue(t.unrecognized.contains { $0.startMs < to && $0.endMs >= to - 100 },
                          "no unrecognised region at \(to) ms: \(t.unrecognized)")
        }
        let json = JSONTranscriptRenderer.render(t)
        XCTAssertTrue(json.contains("\"unrecognized\":["), json)
        XCTAssertEqual(try JSONDecoder().decode(Transcript.self, from: Data(json.utf8)).unrecognized, t.unrecognized)
    }
}

extension SpeechPausesTests {
    func testSpeechNoWordCoversIsDecodedAlone() throws {
        // Picovoice's sentence, 1.2 s of silence, LDC93S1: one VAD region (the gate bridges
        // pauses under 2 s). A recogniser whose joined decode hears only the first sentence
        // (as Whisper base did on the lecture clip) is asked again for the second alone.
        let first = try AudioFixture.samples(Fixtures.path("media/speech/picovoice-leopard_test.wav"))
        let second = try AudioFixture.samples(Fixtures.path("media/speech/deepspeech_LDC93S1.wav"))
        let audio = first + [Float](repeating: 0, count: 1_200 * 16) + second
        let fake = FirstSentenceRecognizer(firstMs: Int64(first.count / 16))
        let t = try FileTranscriber(recognizer: fake, gate: SpeechGate(weights: try SpeechGateTests.weights()))
            .transcribe(samples: audio)
        XCTAssertEqual(fake.calls.count, 2, "\(fake.calls)")
        // The second call is LDC93S1's speech (2.9 s) with padding, not the whole region.
        XCTAssertLessThan(abs(fake.calls[1] - second.count), 16_000, "\(fake.calls)")
        XCTAssertEqual(t.segments.count, 2)
        let secondStart = Int64(first.count / 16 + 1_200)
        XCTAssertGreaterThan(t.segments[1].startMs, secondStart - 500, "\(t.segments)")
        XCTAssertLessThanOrEqual(t.segments[1].endMs, Int64(audio.count / 16), "\(t.segments)")
        XCTAssertEqual(t.unrecognized, [])
    }
}

/// Answers the first call with one word-timed segment over its first `firstMs` only (a
/// decode that skipped what follows), every later call with one over all of its audio.
final class FirstSentenceRecognizer: SegmentRecognizer {
    let modelName = "first-sentence-fake"
    let firstMs: Int64
    var calls: [Int] = []
    init(firstMs: Int64) { self.firstMs = firstMs }
    func recognize(_ samples: [Float], progress: (@Sendable (Int64, Int64) -> Void)?) throws -> RecognizedSpeech {
        calls.append(samples.count)
        let end = calls.count == 1 ? min(firstMs, Int64(samples.count / 16)) : Int64(samples.count / 16)
        let word = TranscriptWord(startMs: 0, endMs: end, word: " words", probability: 0.9)
        return RecognizedSpeech(language: "en", segments: [TranscriptSegment(startMs: 0, endMs: end, text: " words", words: [word])])
    }
}

/// Recognises nothing; counts its calls.
final class SilentRecognizer: SegmentRecognizer {
    let modelName = "silent-fake"
    var calls = 0
    func recognize(_ samples: [Float], progress: (@Sendable (Int64, Int64) -> Void)?) throws -> RecognizedSpeech {
        calls += 1
        return RecognizedSpeech(language: "en", segments: [])
    }
}
