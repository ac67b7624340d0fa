// Renders stored speech evidence as SRT or WebVTT for `GET /v1/streams/{id}/transcript`,
// through the Subtitles module's broadcast cue rules (line length, durations, splits).
// Times are shown relative to `originMs` (the start of the requested range, or the first
// cue), because live streams carry epoch milliseconds and players expect time from zero.
import SpokenWords
import SightlineCore
import Subtitles

public enum TranscriptRenderer {
    public static func srt(_ evidence: [Evidence], originMs: Int64) -> String {
        SRTRenderer.render(cues(evidence, originMs: originMs))
    }

    public static func vtt(_ evidence: [Evidence], originMs: Int64) -> String {
        WebVTTRenderer.render(cues(evidence, originMs: originMs))
    }

    /// `t - originMs` clamped to 0...validTimes.upperBound, for any pair of times: the cue
    /// rules add durations to these, which must not overflow either.
    static func offset(_ t: Int64, from originMs: Int64) -> Int64 {
        let limit = MomentQuery.validTimes.upperBound
        let (d, overflow) = t.subtractingReportingOverflow(originMs)
        if overflow { return originMs < 0 ? limit : 0 }
        return min(max(0, d), limit)
    }

    static func cues(_ evidence: [Evidence], originMs: Int64) -> [Cue] {
        let segments = evidence.map { e in
            // CueBuilder joins segment texts as Whisper writes them, each with its leading
            // space; stored text may lack it (other encoders, trimmed input).
            let text = e.text.map { $0.first?.isWhitespace == true ? $0 : " " + $0 } ?? ""
            return TranscriptSegment(startMs: offset(e.startMs, from: originMs), endMs: offset(e.endMs, from: originMs), text: text,
                              words: e.words.map {
                                  TranscriptWord(startMs: offset($0.startMs, from: originMs), endMs: offset($0.endMs, from: originMs),
                                                 word: $0.word, probability: $0.probability)
                              })
        }
        // The broadcast rules are valid by construction; fall back to one cue per segment if not.
        guard let builder = try? CueBuilder(rules: .broadcast) else {
            return segments.map { Cue(startMs: $0.startMs, endMs: $0.endMs, lines: [$0.text]) }
        }
        return builder.cues(for: segments)
    }
}
