// The parameters of a moment query (`POST /v1/query`).

public struct MomentQuery: Sendable, Equatable {
    public var text: String
    /// Restrict to these streams; empty means all.
    public var streams: [String]
    /// Time range [from, to) in ms on the streams' timelines; nil is open.
    public var fromMs: Int64?
    public var toMs: Int64?
    /// Restrict to these modalities; empty means all.
    public var modalities: [String]
    public var limit: Int

    public static let maxLimit = 1000

    public init(text: String, streams: [String] = [], fromMs: Int64? = nil, toMs: Int64? = nil,
                modalities: [String] = [], limit: Int = 10)
    {
        self.text = text
        self.streams = streams
        self.fromMs = fromMs
        self.toMs = toMs
        self.modalities = modalities
        self.limit = limit
    }
}
