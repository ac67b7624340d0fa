// A whole transcript as the speech pipeline hands it to the subtitle renderers and the store:
// the detected (or forced) language, the model that produced it and its segments in time order.
// Its Codable form is the `--format json` output:
// {"language","model","segments":[{"start_ms","end_ms","text","words":[{"start_ms","end_ms","word","probability"}]}]}
public struct Transcript: Sendable, Hashable, Codable {
    /// ISO 639-1 code such as "en", as Whisper reports it.
    public var language: String
    /// Model name or directory, e.g. "whisper-base".
    public var model: String
    public var segments: [TranscriptSegment]

    public init(language: String, model: String, segments: [TranscriptSegment]) {
        self.language = language
        self.model = model
        self.segments = segments
    }
}
