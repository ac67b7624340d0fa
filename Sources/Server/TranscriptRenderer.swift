// Renders transcript cues as SRT or WebVTT for `GET /v1/streams/{id}/transcript`.
// Times are shown relative to `originMs` (the first cue's window for live streams, whose
// timestamps are epoch milliseconds), because players expect media time from zero.
import Foundation
import Store

public enum TranscriptRenderer {
    public static func srt(_ cues: [Evidence], originMs: Int64) -> String {
        var out = ""
        for (i, cue) in cues.enumerated() {
            out += "\(i + 1)\n\(stamp(cue.startMs - originMs, comma: true)) --> \(stamp(cue.endMs - originMs, comma: true))\n"
            out += (cue.text ?? "").trimmingCharacters(in: .whitespaces) + "\n\n"
        }
        return out
    }

    public static func vtt(_ cues: [Evidence], originMs: Int64) -> String {
        var out = "WEBVTT\n\n"
        for cue in cues {
            out += "\(stamp(cue.startMs - originMs, comma: false)) --> \(stamp(cue.endMs - originMs, comma: false))\n"
            out += (cue.text ?? "").trimmingCharacters(in: .whitespaces) + "\n\n"
        }
        return out
    }

    /// HH:MM:SS,mmm (SRT) or HH:MM:SS.mmm (WebVTT); negative times clamp to zero.
    static func stamp(_ ms: Int64, comma: Bool) -> String {
        let t = max(0, ms)
        let h = t / 3_600_000, m = (t / 60_000) % 60, s = (t / 1000) % 60, f = t % 1000
        return String(format: "%02lld:%02lld:%02lld%@%03lld", h, m, s, comma ? "," : ".", f)
    }
}
