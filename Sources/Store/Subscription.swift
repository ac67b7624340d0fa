// A standing query: text matched against every new window of the listed streams.

public struct Subscription: Sendable, Equatable, Codable {
    public var id: Int64
    public var text: String
    /// Empty means every stream.
    public var streams: [String]
    public var minScore: Double
    public var createdMs: Int64
    enum CodingKeys: String, CodingKey {
        case id, text, streams
        case minScore = "min_score", createdMs = "created_ms"
    }
}
