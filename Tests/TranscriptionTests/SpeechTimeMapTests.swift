import SpokenWords
import XCTest
import Subtitles
@testable import Transcription

final class SpeechTimeMapTests: XCTestCase {
    // Regions 1.0–3.0 s and 10.0–12.0 s of the original: joined audio is 4 s long.
    let map = SpeechTimeMap(regions: [(16_000, 48_000), (160_000, 192_000)])

    func testPointsMapIntoTheirRegion() {
        XCTAssertEqual(map.joinedSampleCount, 64_000)
        XCTAssertEqual(map.originalMs(joinedMs: 0, isEnd: false), 1000)
        XCTAssertEqual(map.originalMs(joinedMs: 1500, isEnd: false), 2500)
        XCTAssertEqual(map.originalMs(joinedMs: 2500, isEnd: false), 10_500)
        XCTAssertEqual(map.originalMs(joinedMs: 4000, isEnd: true), 12_000)
        // The seam: an end stays in the first region, a start goes to the second.
        XCTAssertEqual(map.originalMs(joinedMs: 2000, isEnd: true), 3000)
        XCTAssertEqual(map.originalMs(joinedMs: 2000, isEnd: false), 10_000)
    }

    func testSegmentWithWordsIsSplitAtTheSeam() {
        let words = [
            TranscriptWord(startMs: 1200, endMs: 1600, word: " hello", probability: 0.9),
            TranscriptWord(startMs: 1600, endMs: 1950, word: " there.", probability: 0.8),
            TranscriptWord(startMs: 2100, endMs: 2600, word: " Again", probability: 0.7),
        ]
        let restored = map.restore([TranscriptSegment(startMs: 1100, endMs: 2700, text: " hello there. Again", words: words)])
        XCTAssertEqual(restored.count, 2)
        // Each part runs from its first word's start to its last word's end.
        XCTAssertEqual(restored[0].text, " hello there.")
        XCTAssertEqual([restored[0].startMs, restored[0].endMs], [2200, 2950])
        XCTAssertEqual(restored[0].words.map(\.startMs), [2200, 2600])
        XCTAssertEqual(restored[1].text, " Again")
        XCTAssertEqual([restored[1].startMs, restored[1].endMs], [10_100, 10_600])
        XCTAssertEqual(restored[1].words.first?.endMs, 10_600)
    }

    func testWordAcrossTheSeamGoesWhereMostOfItIs() {
        // 1.9–2.4 s joined: 0.1 s in the first region, 0.4 s in the second.
        let w = TranscriptWord(startMs: 1900, endMs: 2400, word: " then", probability: 0.9)
        let restored = map.restore([TranscriptSegment(startMs: 1900, endMs: 2400, text: " then", words: [w])])
        XCTAssertEqual(restored.map(\.startMs), [10_000])
        XCTAssertEqual(restored.map(\.endMs), [10_400])
    }

    func testSegmentWithoutWordsKeepsItsTrueStartAndEnd() {
        // 1.5–2.2 s joined: starts in the first region, ends in the second. The start used to
        // land in the region holding most of the segment, seconds after the speech began.
        let restored = map.restore([TranscriptSegment(startMs: 1500, endMs: 2200, text: " hi")])
        XCTAssertEqual(restored.count, 1)
        XCTAssertEqual([restored[0].startMs, restored[0].endMs], [2500, 10_200])
    }

    func testNoRegionsLeavesSegmentsAlone() {
        let s = [TranscriptSegment(startMs: 5, endMs: 9, text: "x")]
        XCTAssertEqual(SpeechTimeMap(regions: []).restore(s), s)
    }
}
