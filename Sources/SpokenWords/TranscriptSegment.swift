// One recognised speech segment (a Whisper segment between two timestamp tokens): its time span
// in Int64 milliseconds, its text, and its words when word timestamps were requested (empty
// otherwise). The one segment type of transcription, subtitles and the daemon's speech encoder.
public struct TranscriptSegment: Sendable, Hashable, Codable {
    public var startMs: Int64
    public var endMs: Int64
    public var text: String
    /// Empty when the recogniser ran without word timestamps.
    public var words: [TranscriptWord]

    public init(startMs: Int64, endMs: Int64, text: String, words: [TranscriptWord] = []) {
        self.startMs = startMs
        self.endMs = endMs
        self.text = text
        self.words = words
    }

    enum CodingKeys: String, CodingKey {
        case startMs = "start_ms", endMs = "end_ms", text, words
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        startMs = try c.decode(Int64.self, forKey: .startMs)
        endMs = try c.decode(Int64.self, forKey: .endMs)
        text = try c.decode(String.self, forKey: .text)
        // `words` may be missing in transcripts written without word timestamps.
        words = try c.decodeIfPresent([TranscriptWord].self, forKey: .words) ?? []
    }
}
