// Cues and pauses: a pause over 1 s between words always ends a cue, whatever the segments
// say; speech that gave no text is listed in the JSON output and read back.
import SpokenWords
import Foundation
import Subtitles
import XCTest

final class PauseCueTests: XCTestCase {
    func testPauseOverOneSecondInsideASegmentSplitsTheCue() throws {
        // One Whisper segment across a 1.5 s pause: "And so my fellow Americans, | ask not what".
        let words = [(320, 520, " And"), (520, 840, " so"), (840, 1180, " my"), (1180, 1560, " fellow"),
                     (1560, 2100, " Americans,"), (3600, 4000, " ask"), (4000, 4400, " not"), (4400, 4700, " what")]
            .map { TranscriptWord(startMs: Int64($0.0), endMs: Int64($0.1), word: $0.2, probability: 0.9) }
        let segment = TranscriptSegment(startMs: 0, endMs: 4700, text: words.map(\.word).joined(), words: words)
        let cues = try CueBuilder().cues(for: [segment])
        XCTAssertEqual(cues.map(\.text), ["And so my fellow Americans,", "ask not what"])
        XCTAssertEqual(cues.map(\.startMs), [320, 3600])
        XCTAssertEqual(cues.map(\.endMs), [2100, 4700])
    }

    func testUnrecognizedSpeechIsWrittenAndReadBack() throws {
        let t = Transcript(language: "en", model: "m", segments: [TranscriptSegment(startMs: 0, endMs: 900, text: " Hi.")],
                           unrecognized: [UnrecognizedSpeech(startMs: 4000, endMs: 5200, reason: "no text")])
        let json = JSONTranscriptRenderer.render(t)
        XCTAssertEqual(json, """
            {"language":"en","model":"m","segments":[
            {"start_ms":0,"end_ms":900,"text":" Hi.","words":[]}
            ],"unrecognized":[
            {"start_ms":4000,"end_ms":5200,"reason":"no text"}
            ]}

            """)
        XCTAssertEqual(try JSONDecoder().decode(Transcript.self, from: Data(json.utf8)), t)
        // Without any, the output keeps its old shape and decodes to an empty list.
        var plain = t
        plain.unrecognized = []
        XCTAssertFalse(JSONTranscriptRenderer.render(plain).contains("unrecognized"))
        XCTAssertEqual(try JSONDecoder().decode(Transcript.self, from: Data(JSONTranscriptRenderer.render(plain).utf8)), plain)
    }
}
