// Plain-text (.txt) output: the transcript's segment texts, one segment per line, trimmed,
// empty segments left out. For reading and for word-error-rate scoring, not for display timing.
public enum PlainTextRenderer {
    public static func render(_ transcript: Transcript) -> String {
        transcript.segments
            .map { CueToken.normalizedWhitespace($0.text).trimmingWhitespace }
            .filter { !$0.isEmpty }
            .map { $0 + "\n" }
            .joined()
    }
}
