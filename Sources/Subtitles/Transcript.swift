// A whole transcript as the speech pipeline hands it to the subtitle renderers and the store:
// the detected (or forced) language, the model that produced it, its segments in time order,
// and the speech regions that yielded no text even when decoded on their own.
// Its Codable form is the `--format json` output:
// {"language","model","segments":[{"start_ms","end_ms","text","words":[{"start_ms","end_ms","word","probability"}]}],
//  "unrecognized":[{"start_ms","end_ms","reason"}]}   ("unrecognized" only when there is any)
import SpokenWords

public struct Transcript: Sendable, Hashable, Codable {
    /// ISO 639-1 code such as "en", as Whisper reports it.
    public var language: String
    /// Model name or directory, e.g. "whisper-base".
    public var model: String
    public var segments: [TranscriptSegment]
    /// Speech the voice-activity detector found but the recogniser turned into no text.
    public var unrecognized: [UnrecognizedSpeech]

    public init(language: String, model: String, segments: [TranscriptSegment], unrecognized: [UnrecognizedSpeech] = []) {
        self.language = language
        self.model = model
        self.segments = segments
        self.unrecognized = unrecognized
    }

    enum CodingKeys: String, CodingKey { case language, model, segments, unrecognized }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        language = try c.decode(String.self, forKey: .language)
        model = try c.decode(String.self, forKey: .model)
        segments = try c.decode([TranscriptSegment].self, forKey: .segments)
        unrecognized = try c.decodeIfPresent([UnrecognizedSpeech].self, forKey: .unrecognized) ?? []
    }
}

/// A speech region (media time, ms) that gave no text, and why.
public struct UnrecognizedSpeech: Sendable, Hashable, Codable {
    public var startMs: Int64
    public var endMs: Int64
    public var reason: String

    public init(startMs: Int64, endMs: Int64, reason: String) {
        self.startMs = startMs
        self.endMs = endMs
        self.reason = reason
    }

    enum CodingKeys: String, CodingKey { case startMs = "start_ms", endMs = "end_ms", reason }
}
