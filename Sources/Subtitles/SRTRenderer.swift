// SubRip (.srt) output: numbered blocks from 1, "HH:MM:SS,mmm --> HH:MM:SS,mmm", the cue's
// lines, a blank line. "\n" line ends, UTF-8 without BOM (the caller writes the string's UTF-8).
// SRT has no escape syntax; the only text that breaks readers is a "-->" inside a line (taken
// for a timing line), so it is written as "->".
public enum SRTRenderer {
    public static func render(_ cues: [Cue]) -> String {
        var out = ""
        for (i, cue) in cues.enumerated() {
            out += "\(i + 1)\n"
            out += Timecode.format(cue.startMs, fractionSeparator: ",") + " --> "
                + Timecode.format(cue.endMs, fractionSeparator: ",") + "\n"
            for line in cue.lines { out += escape(line) + "\n" }
            out += "\n"
        }
        return out
    }

    static func escape(_ line: String) -> String {
        var s = line
        while s.contains("-->") { s = s.replacingAll("-->", with: "->") }
        return s
    }
}
