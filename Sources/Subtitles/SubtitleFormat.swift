// The output formats of `sightline transcribe --format`, and the one entry point that renders a
// transcript in any of them (SRT and WebVTT through the cue builder, JSON and TXT directly).
public enum SubtitleFormat: String, Sendable, CaseIterable {
    case srt, vtt, json, txt

    /// The usual file extension, also used to guess the format from `-o NAME.ext`.
    public var fileExtension: String { rawValue }

    public func render(_ transcript: Transcript, rules: CueRules = .broadcast) throws(CueRulesError) -> String {
        switch self {
        case .srt: return SRTRenderer.render(try CueBuilder(rules: rules).cues(for: transcript))
        case .vtt: return WebVTTRenderer.render(try CueBuilder(rules: rules).cues(for: transcript))
        case .json: return JSONTranscriptRenderer.render(transcript)
        case .txt: return PlainTextRenderer.render(transcript)
        }
    }
}
