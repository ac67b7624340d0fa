// The parameters of a moment query (`POST /v1/query`).

/// What a user asks: words, and optional stream, time and modality filters.
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
    /// Times a query may name, in ms: ±10^15 is ±31,700 years around 1970, far past any
    /// media or epoch time, and far enough from Int64's ends that range arithmetic (a window's
    /// length, an hour bucket, a subtitle origin) cannot overflow.
    public static let validTimes: ClosedRange<Int64> = -1_000_000_000_000_000...1_000_000_000_000_000
    /// The most distinct words a query may hold: each becomes an index lookup.
    public static let maxWords = 64

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
