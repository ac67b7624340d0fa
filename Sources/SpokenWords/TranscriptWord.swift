// One recognised word with its time span: the one word type from the recogniser (Whisper's
// word-timestamp alignment) through transcription and subtitles to the store and the API.
// Times are Int64 milliseconds (media time for files, the stream's timeline for streams), like
// every timestamp in Sightline. `word` keeps the recogniser's spacing (Whisper words carry
// their leading space, CJK words carry none), so concatenating a segment's words gives its
// text back.
public struct TranscriptWord: Sendable, Hashable, Codable {
    public var startMs: Int64
    public var endMs: Int64
    public var word: String
    /// The recogniser's probability for this word, 0...1; nil where none was recorded.
    public var probability: Double?

    /// The word `word` spoken over [startMs, endMs).
    public init(startMs: Int64, endMs: Int64, word: String, probability: Double? = nil) {
        self.startMs = startMs
        self.endMs = endMs
        self.word = word
        self.probability = probability
    }

    enum CodingKeys: String, CodingKey {
        case startMs = "start_ms", endMs = "end_ms", word, probability
    }
}
