// A standing query: text matched against every new window of the listed streams.

/// A standing query added through the API.
public struct Subscription: Sendable, Equatable, Codable {
    /// The store's id.
    public var id: Int64
    /// The query text.
    public var text: String
    /// Empty means every stream.
    public var streams: [String]
    /// Matches scoring below this raise no event.
    public var minScore: Double
    /// When it was added (epoch ms).
    public var createdMs: Int64

    /// A subscription as stored.
    public init(id: Int64, text: String, streams: [String], minScore: Double, createdMs: Int64) {
        self.id = id
        self.text = text
        self.streams = streams
        self.minScore = minScore
        self.createdMs = createdMs
    }
    enum CodingKeys: String, CodingKey {
        case id, text, streams
        case minScore = "min_score", createdMs = "created_ms"
    }
}
