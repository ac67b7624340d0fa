// The cue builder on realistic inputs, with exact expected cues, plus the layout invariants on
// many generated transcripts.
import SpokenWords
import Subtitles
import TestSupport
import XCTest

final class CueBuilderTests: XCTestCase {
    private func build(_ segments: [TranscriptSegment], _ rules: CueRules = .broadcast) throws -> [Cue] {
        try CueBuilder(rules: rules).cues(for: segments)
    }

    private func withoutWords(_ s: TranscriptSegment) -> TranscriptSegment {
        var copy = s
        copy.words = []
        return copy
    }

    /// 11 s of JFK is one sentence but longer than 7 s, so it needs two cues. The split follows
    /// the speaker's 920 ms pause after "ask not" (two full cues beat three half-empty ones
    /// split at "Americans," and "you,"), and the second cue breaks its lines at "you,".
    func testJFKSplitsAtThePause() throws {
        XCTAssertEqual(try build([SubtitleTestInputs.jfk]), [
            Cue(startMs: 320, endMs: 4_400, lines: ["And so my fellow Americans, ask not"]),
            Cue(startMs: 5_320, endMs: 10_480, lines: ["what your country can do for you,", "ask what you can do for your country."]),
        ])
    }

    /// Without word times the words get times spread over the segment by length, and the text
    /// fills two balanced lines per cue.
    func testJFKWithoutWordTimes() throws {
        XCTAssertEqual(try build([withoutWords(SubtitleTestInputs.jfk)]), [
            Cue(startMs: 320, endMs: 6_935, lines: ["And so my fellow Americans, ask not", "what your country can do for you,"]),
            Cue(startMs: 6_935, endMs: 10_480, lines: ["ask what you can do for your country."]),
        ])
    }

    /// A 173-character sentence: three two-line cues, each broken after a clause mark where one
    /// is near the middle, lines balanced rather than filled greedily.
    func testLongSentenceBecomesBalancedTwoLineCues() throws {
        let expected = [
            Cue(startMs: 200, endMs: 4_260, lines: ["If the reader will excuse me,", "I will say nothing of my antecedents,"]),
            Cue(startMs: 4_280, endMs: 8_220, lines: ["nor of the circumstances which", "led me to leave my native country;"]),
            Cue(startMs: 8_240, endMs: 11_880, lines: ["the narrative would be tedious", "to him and painful to myself."]),
        ]
        let cues = try build([SubtitleTestInputs.longSentence])
        XCTAssertEqual(cues, expected)
        for line in cues.flatMap(\.lines) { XCTAssertLessThanOrEqual(line.count, 42, line) }
    }

    /// Short words are held for 0.7 s: forward into the gap when there is room, else backwards;
    /// a 1.48 s pause separates "No." from "Maybe later." and a sentence end ends a cue.
    func testVeryShortWordsAreExtendedToMinimumDuration() throws {
        XCTAssertEqual(try build([SubtitleTestInputs.shortAnswers]), [
            Cue(startMs: 700, endMs: 1_400, lines: ["Yes."]),
            Cue(startMs: 1_400, endMs: 2_100, lines: ["No."]),
            Cue(startMs: 2_900, endMs: 3_600, lines: ["Maybe later."]),
            Cue(startMs: 3_600, endMs: 4_300, lines: ["OK"]),
        ])
    }

    func testPauseLongerThanOneSecondAlwaysSplits() throws {
        let s = SubtitleTestInputs.segment([
            (" we", 0, 300), (" waited", 300, 900), (" and", 1_901, 2_100), (" waited", 2_100, 2_800),
        ])
        XCTAssertEqual(try build([s]), [
            Cue(startMs: 0, endMs: 900, lines: ["we waited"]),
            Cue(startMs: 1_901, endMs: 2_800, lines: ["and waited"]),
        ])
        // Exactly 1 s of pause is allowed inside a cue.
        let t = SubtitleTestInputs.segment([(" we", 0, 300), (" waited", 300, 900), (" and", 1_900, 2_100)])
        XCTAssertEqual(try build([t]), [Cue(startMs: 0, endMs: 2_100, lines: ["we waited and"])])
    }

    func testSingleWordLongerThanMaximumDurationIsCut() throws {
        let s = SubtitleTestInputs.segment([(" Ooooh", 1_000, 10_000), (" yes", 10_000, 10_400)])
        XCTAssertEqual(try build([s]), [
            Cue(startMs: 1_000, endMs: 8_000, lines: ["Ooooh"]),
            Cue(startMs: 10_000, endMs: 10_700, lines: ["yes"]),
        ])
    }

    /// Japanese has no spaces: without word times the text is cut after "。" and, when too long
    /// for a line, between characters.
    func testTextWithoutSpacesSplitsAtFullWidthSentenceEnds() throws {
        let s = TranscriptSegment(startMs: 0, endMs: 4_000, text: "今日は良い天気ですね。明日も晴れるでしょう。")
        XCTAssertEqual(try build([s]), [
            Cue(startMs: 0, endMs: 2_000, lines: ["今日は良い天気ですね。"]),
            Cue(startMs: 2_000, endMs: 4_000, lines: ["明日も晴れるでしょう。"]),
        ])
    }

    /// Segment boundaries do not force cue boundaries: a sentence continued in the next segment
    /// stays in one cue.
    func testSentenceContinuedAcrossSegmentsStaysTogether() throws {
        let a = SubtitleTestInputs.segment([(" The", 0, 200), (" quick", 200, 500)])
        let b = SubtitleTestInputs.segment([(" brown", 520, 800), (" fox.", 800, 1_200), (" Next", 1_300, 1_500)])
        XCTAssertEqual(try build([a, b]), [
            Cue(startMs: 0, endMs: 1_200, lines: ["The quick brown fox."]),
            Cue(startMs: 1_300, endMs: 2_000, lines: ["Next"]),
        ])
    }

    func testCustomRules() throws {
        var rules = CueRules()
        rules.maxCharactersPerLine = 20
        rules.maxLines = 1
        XCTAssertEqual(try build([SubtitleTestInputs.jfk], rules).map(\.text), [
            "And so my fellow", "Americans, ask not", "what your country", "can do for you,",
            "ask what you can do", "for your country.",
        ])
    }

    func testInvalidRulesAreRejected() {
        var rules = CueRules()
        rules.maxLines = 0
        XCTAssertThrowsError(try CueBuilder(rules: rules)) { error in
            XCTAssertEqual("\(error)", "invalid subtitle cue rules: maxLines must be at least 1 (got 0)")
        }
        rules = CueRules(minDurationMs: 8_000, maxDurationMs: 7_000)
        XCTAssertThrowsError(try CueBuilder(rules: rules))
    }

    func testEmptyAndBlankInputGiveNoCues() throws {
        XCTAssertEqual(try build([]), [])
        XCTAssertEqual(try build([TranscriptSegment(startMs: 0, endMs: 1_000, text: "  \n ")]), [])
    }

    /// Invariants on 300 generated transcripts (fixed-seed PRNG): every word is shown once and in
    /// order, no empty cue, lines and cues within limits, cues ordered and disjoint, no cue
    /// across a pause longer than 1 s.
    func testInvariantsOnGeneratedTranscripts() throws {
        var rng = SplitMix64(seed: 42)
        let vocabulary = ["a", "the", "cat", "extraordinary", "well,", "done.", "why?", "I", "notwithstanding",
                          "it's", "go!", "internationalisation", "so;", "and", "we"]
        for _ in 0..<300 {
            var t: Int64 = Int64(rng.next() % 2_000)
            var list: [(String, Int64, Int64)] = []
            for _ in 0..<(1 + Int(rng.next() % 60)) {
                let word = vocabulary[Int(rng.next() % UInt64(vocabulary.count))]
                let gap = rng.next() % 4 == 0 ? Int64(rng.next() % 1_600) : Int64(rng.next() % 120)
                let duration = Int64(20 + rng.next() % 700)
                t += gap
                list.append((" " + word, t, t + duration))
                t += duration
            }
            let segment = SubtitleTestInputs.segment(list)
            let cues = try build([segment])
            XCTAssertEqual(
                cues.flatMap { $0.lines }.joined(separator: " "),
                list.map { String($0.0.dropFirst()) }.joined(separator: " "))
            var previousEnd: Int64 = 0
            for cue in cues {
                XCTAssertFalse(cue.lines.isEmpty)
                XCTAssertLessThanOrEqual(cue.lines.count, 2)
                for line in cue.lines { XCTAssertTrue(!line.isEmpty && line.count <= 42, line) }
                XCTAssertLessThan(cue.startMs, cue.endMs)
                XCTAssertGreaterThanOrEqual(cue.startMs, previousEnd)
                XCTAssertLessThanOrEqual(cue.durationMs, 7_000)
                previousEnd = cue.endMs
            }
            for (w1, w2) in zip(list, list.dropFirst()) where w2.1 - w1.2 > 1_000 {
                XCTAssertFalse(cues.contains { $0.startMs <= w1.2 && $0.endMs >= w2.1 }, "cue spans a pause")
            }
        }
    }
}

extension CueBuilderTests {
    func testAbbreviationsAndInitialsDoNotEndSentences() throws {
        let s = SubtitleTestInputs.segment([
            (" Dr.", 0, 200), (" J.", 200, 400), (" R.", 400, 600), (" Smith", 600, 900), (" of", 900, 1_000),
            (" the", 1_000, 1_100), (" U.S.", 1_100, 1_500), (" arrived.", 1_500, 2_000), (" Then", 2_100, 2_400),
            (" he", 2_400, 2_500), (" left.", 2_500, 2_900),
        ])
        XCTAssertEqual(try CueBuilder().cues(for: [s]).map(\.text), ["Dr. J. R. Smith of the U.S. arrived.", "Then he left."])
    }

    /// CJK keeps every boundary breakable; Latin pieces without a space are glued.
    func testWordPiecesAreGluedOnlyOutsideSpacelessScripts() throws {
        let latin = SubtitleTestInputs.segment([(" wash", 0, 300), ("water", 300, 600), (" all", 600, 800)])
        XCTAssertEqual(try CueBuilder().cues(for: [latin]).map(\.lines), [["washwater all"]])
        var rules = CueRules()
        rules.maxCharactersPerLine = 4
        let japanese = SubtitleTestInputs.segment([("今日", 0, 300), ("は", 300, 400), ("良い", 400, 700), ("天気", 700, 1_000)])
        XCTAssertEqual(try CueBuilder(rules: rules).cues(for: [japanese]).map(\.lines), [["今日は", "良い天気"]])
    }
}

extension CueBuilderTests {
    /// Segments from producers that do not start texts with a space still become separate words.
    func testSegmentsWithoutLeadingSpaceAreNotFused() throws {
        let segments = [
            TranscriptSegment(startMs: 0, endMs: 1_000, text: "Hello there"),
            TranscriptSegment(startMs: 1_000, endMs: 2_000, text: "general Kenobi"),
        ]
        XCTAssertEqual(try CueBuilder().cues(for: segments).map(\.text), ["Hello there general Kenobi"])
    }
}
