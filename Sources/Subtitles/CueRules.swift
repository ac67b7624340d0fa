// The layout and timing rules the cue builder follows. Defaults are common broadcast practice
// (BBC / EBU / Netflix timed-text guidelines): 42 characters a line, 2 lines a cue, 0.7–7 s on
// screen, a new cue after a sentence end, and never one cue across a pause longer than 1 s.
public struct CueRules: Sendable, Hashable {
    /// Characters (grapheme clusters) per line; a single longer word gets a line of its own.
    public var maxCharactersPerLine: Int = 42
    public var maxLines: Int = 2
    /// Shorter cues are extended into the following gap (never over the next cue).
    public var minDurationMs: Int64 = 700
    /// Longer runs of speech are split; a single word longer than this is cut to it.
    public var maxDurationMs: Int64 = 7_000
    /// A silence longer than this between two words always ends the cue.
    public var maxPauseInCueMs: Int64 = 1_000
    /// A silence at least this long is a preferred split point when a cue is full.
    public var preferredPauseMs: Int64 = 300
    /// Start a new cue after a word that ends a sentence (. ? ! …).
    public var splitAtSentenceEnds: Bool = true

    public init() {}

    public init(
        maxCharactersPerLine: Int = 42, maxLines: Int = 2,
        minDurationMs: Int64 = 700, maxDurationMs: Int64 = 7_000,
        maxPauseInCueMs: Int64 = 1_000, preferredPauseMs: Int64 = 300,
        splitAtSentenceEnds: Bool = true
    ) {
        self.maxCharactersPerLine = maxCharactersPerLine
        self.maxLines = maxLines
        self.minDurationMs = minDurationMs
        self.maxDurationMs = maxDurationMs
        self.maxPauseInCueMs = maxPauseInCueMs
        self.preferredPauseMs = preferredPauseMs
        self.splitAtSentenceEnds = splitAtSentenceEnds
    }

    /// The broadcast defaults described above.
    public static let broadcast = CueRules()

    /// Throws when the rules cannot be satisfied by any layout (e.g. zero lines).
    public func validate() throws(CueRulesError) {
        guard maxCharactersPerLine >= 1 else {
            throw .invalid("maxCharactersPerLine must be at least 1 (got \(maxCharactersPerLine))")
        }
        guard maxLines >= 1 else { throw .invalid("maxLines must be at least 1 (got \(maxLines))") }
        guard minDurationMs >= 0, maxDurationMs > 0, minDurationMs <= maxDurationMs else {
            throw .invalid(
                "need 0 <= minDurationMs <= maxDurationMs and maxDurationMs > 0 "
                    + "(got \(minDurationMs) ms and \(maxDurationMs) ms)")
        }
        guard maxPauseInCueMs >= 0, preferredPauseMs >= 0 else {
            throw .invalid("pause limits must not be negative")
        }
    }
}

/// A `CueRules` value that no layout can satisfy; the message names the field and what to use.
public enum CueRulesError: Error, Equatable, CustomStringConvertible {
    case invalid(String)

    public var description: String {
        switch self {
        case .invalid(let why): "invalid subtitle cue rules: \(why)"
        }
    }
}
