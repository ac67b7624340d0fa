// The cue builder on real recogniser output: faster-whisper's word timestamps (whisper-base)
// for the 14 speech clips (Tests/Fixtures/subtitles/faster-whisper-base-words.json, taken from
// the speech golden file). Exact cues for two clips, the layout invariants for all.
import SpokenWords
import Foundation
import Subtitles
import TestSupport
import XCTest

final class RealTranscriptCueTests: XCTestCase {
    private struct Golden: Decodable {
        struct Segment: Decodable { var start_ms: Int64; var end_ms: Int64; var text: String }
        struct Clip: Decodable { var segments: [Segment]; var words: [[Word]] }
        enum Word: Decodable {
            case text(String), ms(Int64)
            init(from decoder: any Decoder) throws {
                let c = try decoder.singleValueContainer()
                if let v = try? c.decode(Int64.self) { self = .ms(v) } else { self = .text(try c.decode(String.self)) }
            }
        }
        var clips: [String: Clip]
    }

    /// Segments with their words (a word belongs to the segment its start falls in).
    private func transcript(_ name: String) throws -> [TranscriptSegment] {
        let data = try Data(contentsOf: URL(fileURLWithPath: Fixtures.path("subtitles/faster-whisper-base-words.json")))
        let clip = try XCTUnwrap(try JSONDecoder().decode(Golden.self, from: data).clips[name], name)
        let words: [TranscriptWord] = clip.words.compactMap { w in
            guard w.count == 3, case .text(let t) = w[0], case .ms(let s) = w[1], case .ms(let e) = w[2] else { return nil }
            return TranscriptWord(startMs: s, endMs: e, word: t, probability: 1)
        }
        XCTAssertEqual(words.count, clip.words.count, name)
        return clip.segments.enumerated().map { i, s in
            let last = i == clip.segments.count - 1
            return TranscriptSegment(
                startMs: s.start_ms, endMs: s.end_ms, text: s.text,
                words: words.filter { $0.startMs >= s.start_ms && (last || $0.startMs < s.end_ms) })
        }
    }

    /// Three sentences' worth of clauses: cues end at the commas and the full stop, lines are
    /// balanced, and "Mr." (picovoice clip, below) is not taken for a sentence end.
    func testLongLibriSpeechSentence() throws {
        XCTAssertEqual(try CueBuilder().cues(for: transcript("lhotse_2412-153948-0000.flac")), [
            Cue(startMs: 0, endMs: 3_960, lines: ["If the reader will excuse me,", "I will say nothing of my antecedents,"]),
            Cue(startMs: 4_360, endMs: 7_420, lines: ["nor of the circumstances which", "led me to leave my native country."]),
            Cue(startMs: 8_220, endMs: 10_800, lines: ["The narrative would be tedious", "to him and painful to myself."]),
        ])
        XCTAssertEqual(try CueBuilder().cues(for: transcript("picovoice-leopard_test.wav")), [
            Cue(startMs: 0, endMs: 3_020, lines: ["Mr. Quilter is the apostle", "of the middle classes,"]),
            Cue(startMs: 3_380, endMs: 5_240, lines: ["and we are glad to welcome his gospel."]),
        ])
    }

    /// faster-whisper's JFK words carry no pauses (each word starts where the last ended) and
    /// no comma after "Americans"; "you," comes 7.42 s in, past the 7 s limit, so the cue has
    /// to break inside the sentence: before "what", which opens a clause, rather than at the
    /// even split ("…your country | can do…") or inside a phrase.
    func testJFK() throws {
        XCTAssertEqual(try CueBuilder().cues(for: transcript("whispercpp_jfk.wav")), [
            Cue(startMs: 0, endMs: 4_240, lines: ["And so my fellow Americans ask not"]),
            Cue(startMs: 4_240, endMs: 10_360, lines: ["what your country can do for you,", "ask what you can do for your country."]),
        ])
    }

    /// Word pieces without a leading space ("ill" + "-disposed") stay one word.
    func testHyphenatedWordPiecesStayTogether() throws {
        XCTAssertEqual(try CueBuilder().cues(for: transcript("pocketsphinx_librivox_0890.wav")), [
            Cue(startMs: 0, endMs: 5_020, lines: ["Unless to be rather cold-hearted and", "rather selfish is to be ill-disposed."]),
        ])
    }

    func testInvariantsOnAllClips() throws {
        let data = try Data(contentsOf: URL(fileURLWithPath: Fixtures.path("subtitles/faster-whisper-base-words.json")))
        let names = try JSONDecoder().decode(Golden.self, from: data).clips.keys.sorted()
        XCTAssertEqual(names.count, 14)
        for name in names {
            let segments = try transcript(name)
            let cues = try CueBuilder().cues(for: segments)
            XCTAssertFalse(cues.isEmpty, name)
            XCTAssertEqual(
                cues.flatMap(\.lines).joined(separator: " "),
                segments.flatMap(\.words).map(\.word).joined().trimmingCharacters(in: .whitespaces), name)
            var previousEnd: Int64 = 0
            for cue in cues {
                XCTAssertTrue((1...2).contains(cue.lines.count), name)
                XCTAssertTrue(cue.lines.allSatisfy { !$0.isEmpty && $0.count <= 42 }, name)
                XCTAssertGreaterThanOrEqual(cue.startMs, previousEnd, name)
                XCTAssertTrue((700...7_000).contains(cue.durationMs), "\(name): \(cue)")
                previousEnd = cue.endMs
            }
        }
    }
}
