// Exact SRT / WebVTT / JSON / TXT output for a small transcript, escaping, and the round trip
// of our WebVTT output through WebVTTParser.
import SpokenWords
import Foundation
import Subtitles
import TestSupport
import XCTest

final class RendererTests: XCTestCase {
    static let transcript = Transcript(
        language: "en", model: "whisper-base",
        segments: [
            SubtitleTestInputs.jfk,
            TranscriptSegment(startMs: 12_000, endMs: 14_500, text: " Tom & Jerry <3 --> \"fun\"\tend."),
        ])

    func testSRT() throws {
        XCTAssertEqual(try SubtitleFormat.srt.render(Self.transcript), """
            1
            00:00:00,320 --> 00:00:04,400
            And so my fellow Americans, ask not

            2
            00:00:05,320 --> 00:00:10,480
            what your country can do for you,
            ask what you can do for your country.

            3
            00:00:12,000 --> 00:00:14,500
            Tom & Jerry <3 -> "fun" end.


            """)
    }

    func testWebVTT() throws {
        XCTAssertEqual(try SubtitleFormat.vtt.render(Self.transcript), """
            WEBVTT

            00:00:00.320 --> 00:00:04.400
            And so my fellow Americans, ask not

            00:00:05.320 --> 00:00:10.480
            what your country can do for you,
            ask what you can do for your country.

            00:00:12.000 --> 00:00:14.500
            Tom &amp; Jerry &lt;3 --&gt; "fun" end.


            """)
    }

    func testJSONHasTheExactLayoutAndDecodesBack() throws {
        let small = Transcript(
            language: "en", model: "whisper-base",
            segments: [
                TranscriptSegment(
                    startMs: 0, endMs: 1_500, text: " Say \"hi\"\\n",
                    words: [
                        TranscriptWord(startMs: 0, endMs: 700, word: " Say", probability: 0.98765),
                        TranscriptWord(startMs: 700, endMs: 1_500, word: " \"hi\"\\n", probability: 1),
                    ]),
                TranscriptSegment(startMs: 2_000, endMs: 2_500, text: " \u{1}ok"),
            ])
        let json = try SubtitleFormat.json.render(small)
        XCTAssertEqual(json, """
            {"language":"en","model":"whisper-base","segments":[
            {"start_ms":0,"end_ms":1500,"text":" Say \\"hi\\"\\\\n","words":[\
            {"start_ms":0,"end_ms":700,"word":" Say","probability":0.9877},\
            {"start_ms":700,"end_ms":1500,"word":" \\"hi\\"\\\\n","probability":1}]},
            {"start_ms":2000,"end_ms":2500,"text":" \\u0001ok","words":[]}
            ]}

            """)
        var expected = small
        expected.segments[0].words[0].probability = 0.9877
        XCTAssertEqual(try JSONDecoder().decode(Transcript.self, from: Data(json.utf8)), expected)
        XCTAssertEqual(
            JSONTranscriptRenderer.render(Transcript(language: "en", model: "m", segments: [])),
            "{\"language\":\"en\",\"model\":\"m\",\"segments\":[]}\n")
    }

    func testPlainText() throws {
        XCTAssertEqual(try SubtitleFormat.txt.render(Self.transcript), """
            And so my fellow Americans, ask not what your country can do for you, ask what you can do for your country.
            Tom & Jerry <3 --> "fun" end.

            """)
    }

    func testOutputHasNoByteOrderMarkAndNoCarriageReturns() throws {
        for format in SubtitleFormat.allCases {
            let bytes = Array(try format.render(Self.transcript).utf8)
            XCTAssertNotEqual(Array(bytes.prefix(3)), [0xEF, 0xBB, 0xBF], "\(format)")
            XCTAssertFalse(bytes.contains(0x0D), "\(format)")
        }
    }

    func testTimecodesBeyondNinetyNineHours() {
        let cue = Cue(startMs: 359_999_999, endMs: 360_000_000, lines: ["late"])
        XCTAssertEqual(SRTRenderer.render([cue]), "1\n99:59:59,999 --> 100:00:00,000\nlate\n\n")
        XCTAssertEqual(WebVTTRenderer.render([cue]), "WEBVTT\n\n99:59:59.999 --> 100:00:00.000\nlate\n\n")
    }

    /// Everything our renderer emits parses cleanly (no dropped block) with the vtt.js-rules
    /// parser, and cue times and displayed text survive the round trip.
    func testWebVTTRoundTrip() throws {
        let segments = [
            SubtitleTestInputs.jfk, SubtitleTestInputs.longSentence, SubtitleTestInputs.shortAnswers,
            TranscriptSegment(startMs: 20_000, endMs: 23_000, text: " NOTE: a <b>tag</b> & an arrow --> here"),
            TranscriptSegment(startMs: 23_000, endMs: 24_000, text: " WEBVTT"),
            TranscriptSegment(startMs: 359_999_000, endMs: 360_001_000, text: " Ünïcödé 日本語 ‏rtl‎"),
        ].map { s -> TranscriptSegment in
            // Shift the shared inputs apart so the cues do not interleave.
            var t = s
            if s == SubtitleTestInputs.longSentence { t.words = t.words.map { w in var w = w; w.startMs += 12_000; w.endMs += 12_000; return w } }
            if s == SubtitleTestInputs.shortAnswers { t.words = t.words.map { w in var w = w; w.startMs += 15_000; w.endMs += 15_000; return w } }
            return t
        }
        let cues = try CueBuilder().cues(for: segments)
        // JFK 2, long sentence 3, short answers 4, the NOTE/WEBVTT text 1 (no pause between), Unicode 1.
        XCTAssertEqual(cues.count, 2 + 3 + 4 + 1 + 1)
        let parsed = try WebVTTParser.parse(WebVTTRenderer.render(cues))
        XCTAssertEqual(parsed.droppedBlockLines, [])
        XCTAssertEqual(parsed.cues.map(\.startMs), cues.map(\.startMs))
        XCTAssertEqual(parsed.cues.map(\.endMs), cues.map(\.endMs))
        XCTAssertEqual(parsed.cues.map { WebVTTCueText.plainText($0.text) }, cues.map(\.text))
        XCTAssertTrue(parsed.cues.allSatisfy { $0.id.isEmpty })
    }
}
