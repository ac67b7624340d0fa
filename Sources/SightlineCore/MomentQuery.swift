// The parameters of a moment query (`POST /v1/query`).

public struct MomentQuery: Sendable, Equatable {
    /// What the user typed; matched word by word.
    public var text: String
    /// Restrict to these streams; empty means all.
    public var streams: [String]
    /// Time range [from, to) in ms on the streams' timelines; nil is open.
    public var fromMs: Int64?
    public var toMs: Int64?
    /// Restrict to these modalities; empty means all.
    public var modalities: [Modality]
    /// At most this many moments, best first.
    public var limit: Int

    /// The largest `limit` a query may ask for.
    public static let maxLimit = 1000

    /// A query for `text` with optional filters.
    public init(text: String, streams: [String] = [], fromMs: Int64? = nil, toMs: Int64? = nil,
                modalities: [Modality] = [], limit: Int = 10)
    {
        self.text = text
        self.streams = streams
        self.fromMs = fromMs
        self.toMs = toMs
        self.modalities = modalities
        self.limit = limit
    }
}

extension MomentQuery {
    /// The words of `text` as the full-text index sees them: runs of letters and digits,
    /// lowercased (what SQLite's unicode61 tokenizer indexes).
    public static func words(in text: String) -> [String] {
        var out: [String] = []
        var current = ""
        for ch in text.lowercased() {
            if ch.isLetter || ch.isNumber {
                current.append(ch)
            } else if !current.isEmpty {
                out.append(current)
                current = ""
            }
        }
        if !current.isEmpty { out.append(current) }
        return out
    }
}
