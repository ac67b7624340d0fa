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
    /// When an occurrence begins and ends (JSON: its keys beside the others).
    public var occurrence: OccurrenceOptions

    /// A subscription as stored.
    public init(id: Int64, text: String, streams: [String], minScore: Double, createdMs: Int64,
                occurrence: OccurrenceOptions = OccurrenceOptions())
    {
        self.id = id
        self.text = text
        self.streams = streams
        self.minScore = minScore
        self.createdMs = createdMs
        self.occurrence = occurrence
    }
    enum CodingKeys: String, CodingKey {
        case id, text, streams
        case minScore = "min_score", createdMs = "created_ms"
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(id: try c.decode(Int64.self, forKey: .id), text: try c.decode(String.self, forKey: .text),
                  streams: try c.decode([String].self, forKey: .streams), minScore: try c.decode(Double.self, forKey: .minScore),
                  createdMs: try c.decode(Int64.self, forKey: .createdMs), occurrence: try OccurrenceOptions(from: decoder))
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(id, forKey: .id)
        try c.encode(text, forKey: .text)
        try c.encode(streams, forKey: .streams)
        try c.encode(minScore, forKey: .minScore)
        try c.encode(createdMs, forKey: .createdMs)
        try occurrence.encode(to: encoder)
    }
}

/// When a standing query's occurrence begins and ends on a stream (hysteresis), and what its
/// events carry. A window is *above* when its score is at least the query's `min_score` and
/// more than the stream's own level for that query: median + `spread` × 1.4826 × MAD of its
/// last `history_windows` window scores (a robust "unusually high" that needs no constant
/// tuned per query or camera; until `minHistory` scores are known the level is 0).
/// An occurrence begins when `enter_hits` of the last `enter_windows` windows are above, and
/// ends after `leave_misses` windows in a row are not. In JSON and `[[queries]]` the keys are
/// `enter_hits`, `enter_windows`, `leave_misses`, `spread`, `history_windows`, `key_frame`.
public struct OccurrenceOptions: Sendable, Equatable, Codable {
    /// k: windows above the threshold among the last `enterWindows` that begin an occurrence.
    public var enterHits: Int
    /// n: how many recent windows `enterHits` is counted over.
    public var enterWindows: Int
    /// m: windows in a row below the threshold that end an occurrence.
    public var leaveMisses: Int
    /// Robust standard deviations above the stream's median score a window must be.
    public var spread: Double
    /// Recent window scores the stream's level is computed from.
    public var historyWindows: Int
    /// Attach a JPEG of the key frame to `occurrence_start` events.
    public var keyFrame: Bool

    /// Scores needed before the stream's level counts.
    public static let minHistory = 10
    /// The ranges `validationError` accepts.
    public static let hitsRange = 1...100
    public static let spreadRange = 0.0...100.0
    public static let historyRange = 10...100_000

    /// Options with the documented defaults: 2 of 3 windows to begin, 3 below to end,
    /// 3 robust deviations over 300 windows, no key frame.
    public init(enterHits: Int = 2, enterWindows: Int = 3, leaveMisses: Int = 3, spread: Double = 3,
                historyWindows: Int = 300, keyFrame: Bool = false)
    {
        self.enterHits = enterHits
        self.enterWindows = enterWindows
        self.leaveMisses = leaveMisses
        self.spread = spread
        self.historyWindows = historyWindows
        self.keyFrame = keyFrame
    }

    /// What is wrong with these options, nil when nothing is.
    public var validationError: String? {
        if !Self.hitsRange.contains(enterHits) { return "enter_hits must be \(Self.hitsRange), not \(enterHits)" }
        if !Self.hitsRange.contains(enterWindows) || enterWindows < enterHits {
            return "enter_windows must be enter_hits (\(enterHits))...\(Self.hitsRange.upperBound), not \(enterWindows)"
        }
        if !Self.hitsRange.contains(leaveMisses) { return "leave_misses must be \(Self.hitsRange), not \(leaveMisses)" }
        if !spread.isFinite || !Self.spreadRange.contains(spread) { return "spread must be \(Self.spreadRange), not \(spread)" }
        if !Self.historyRange.contains(historyWindows) { return "history_windows must be \(Self.historyRange), not \(historyWindows)" }
        return nil
    }

    enum CodingKeys: String, CodingKey {
        case spread
        case enterHits = "enter_hits", enterWindows = "enter_windows", leaveMisses = "leave_misses"
        case historyWindows = "history_windows", keyFrame = "key_frame"
    }

    /// Reads the keys that are present; the others keep their defaults.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let d = OccurrenceOptions()
        self.init(enterHits: try c.decodeIfPresent(Int.self, forKey: .enterHits) ?? d.enterHits,
                  enterWindows: try c.decodeIfPresent(Int.self, forKey: .enterWindows) ?? d.enterWindows,
                  leaveMisses: try c.decodeIfPresent(Int.self, forKey: .leaveMisses) ?? d.leaveMisses,
                  spread: try c.decodeIfPresent(Double.self, forKey: .spread) ?? d.spread,
                  historyWindows: try c.decodeIfPresent(Int.self, forKey: .historyWindows) ?? d.historyWindows,
                  keyFrame: try c.decodeIfPresent(Bool.self, forKey: .keyFrame) ?? d.keyFrame)
    }
}
