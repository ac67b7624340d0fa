// WebVTT (.vtt) output: the "WEBVTT" signature line, a blank line, then per cue
// "HH:MM:SS.mmm --> HH:MM:SS.mmm", its lines and a blank line. Cue text is escaped as the
// WHATWG WebVTT syntax requires: "&" → "&amp;", "<" → "&lt;", ">" → "&gt;" (the last also
// makes a "-->" in the text harmless). Output parses cleanly under vtt.js's rules (the test suite parses it with TestSupport's WebVTT parser).
public enum WebVTTRenderer {
    public static func render(_ cues: [Cue]) -> String {
        var out = "WEBVTT\n\n"
        for cue in cues {
            out += Timecode.format(cue.startMs, fractionSeparator: ".") + " --> "
                + Timecode.format(cue.endMs, fractionSeparator: ".") + "\n"
            for line in cue.lines { out += escape(line) + "\n" }
            out += "\n"
        }
        return out
    }

    static func escape(_ line: String) -> String {
        var out = ""
        for ch in line {
            switch ch {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            default: out.append(ch)
            }
        }
        return out
    }
}
