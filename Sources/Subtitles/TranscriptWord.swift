// One recognised word with its time span, as a speech recogniser (Whisper's word-timestamp
// alignment) produces it. Times are Int64 milliseconds of media time, like every timestamp in
// Sightline. `word` keeps the recogniser's spacing (Whisper words carry their leading space,
// CJK words carry none), so concatenating the words of a segment gives its text back.
public struct TranscriptWord: Sendable, Hashable, Codable {
    public var startMs: Int64
    public var endMs: Int64
    public var word: String
    /// The recogniser's probability for this word, 0...1.
    public var probability: Double

    public init(startMs: Int64, endMs: Int64, word: String, probability: Double) {
        self.startMs = startMs
        self.endMs = endMs
        self.word = word
        self.probability = probability
    }

    enum CodingKeys: String, CodingKey {
        case startMs = "start_ms", endMs = "end_ms", word, probability
    }
}
