// A query answer: a time range of one stream with the evidence that matched there.

public struct Moment: Sendable, Equatable, Codable {
    public struct Item: Sendable, Equatable, Codable {
        public var modality: String
        public var text: String
        public var startMs: Int64
        public var endMs: Int64
        enum CodingKeys: String, CodingKey {
            case modality, text
            case startMs = "start_ms", endMs = "end_ms"
        }
    }
    public var stream: String
    public var startMs: Int64
    public var endMs: Int64
    /// Relevance, higher is better (negated FTS5 bm25 of the best evidence in the window).
    public var score: Double
    public var evidence: [Item]
    enum CodingKeys: String, CodingKey {
        case stream, score, evidence
        case startMs = "start_ms", endMs = "end_ms"
    }
}
