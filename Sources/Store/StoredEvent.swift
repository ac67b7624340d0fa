// An event as stored and streamed: stream up/down, reconnects, standing-query matches.

public struct StoredEvent: Sendable, Equatable, Codable {
    public var id: Int64?
    public var streamId: String?
    /// "stream_state", "match", ...
    public var kind: String
    public var atMs: Int64
    public var subscriptionId: Int64?
    /// A JSON object with the event's details.
    public var payload: String

    public init(id: Int64? = nil, streamId: String?, kind: String, atMs: Int64,
                subscriptionId: Int64? = nil, payload: String = "{}")
    {
        self.id = id
        self.streamId = streamId
        self.kind = kind
        self.atMs = atMs
        self.subscriptionId = subscriptionId
        self.payload = payload
    }
    enum CodingKeys: String, CodingKey {
        case id, kind, payload
        case streamId = "stream", atMs = "at_ms", subscriptionId = "subscription_id"
    }
}
