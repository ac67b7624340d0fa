// A query answer: a time range of one stream with the evidence that matched there.

/// A time range of one stream that answers a query, with the evidence behind it.
public struct Moment: Sendable, Equatable, Codable {
    /// One piece of matching evidence.
    public struct Item: Sendable, Equatable, Codable {
        /// Which modality said it.
        public var modality: Modality
        /// Its text.
        public var text: String
        /// The span it holds for.
        public var startMs: Int64
        public var endMs: Int64
        /// Where in the picture it was seen, for people, faces and text lines.
        public var region: Region?
        /// A piece of evidence of `modality` over [startMs, endMs).
        public init(modality: Modality, text: String, startMs: Int64, endMs: Int64, region: Region? = nil) {
            self.modality = modality
            self.text = text
            self.startMs = startMs
            self.endMs = endMs
            self.region = region
        }
        enum CodingKeys: String, CodingKey {
            case modality, text
            case startMs = "start_ms", endMs = "end_ms"
            case region = "box"
        }
    }
    /// The stream's id.
    public var stream: String
    /// The moment's span: its window, widened to cover its evidence.
    public var startMs: Int64
    public var endMs: Int64
    /// Relevance, higher is better (see Retrieval's ranking for how it is computed).
    public var score: Double
    /// What matched, best first.
    public var evidence: [Item]

    /// A moment of `stream` over [startMs, endMs).
    public init(stream: String, startMs: Int64, endMs: Int64, score: Double, evidence: [Item]) {
        self.stream = stream
        self.startMs = startMs
        self.endMs = endMs
        self.score = score
        self.evidence = evidence
    }
    enum CodingKeys: String, CodingKey {
        case stream, score, evidence
        case startMs = "start_ms", endMs = "end_ms"
    }
}
