// One subtitle cue: what is on screen from `startMs` to `endMs` (Int64 milliseconds, end
// exclusive). `lines` are already broken for display (at most `CueRules.maxLines`, each at
// most `CueRules.maxCharactersPerLine` characters unless a single word is longer).
public struct Cue: Sendable, Hashable {
    public var startMs: Int64
    public var endMs: Int64
    public var lines: [String]

    public init(startMs: Int64, endMs: Int64, lines: [String]) {
        self.startMs = startMs
        self.endMs = endMs
        self.lines = lines
    }

    /// The cue's lines joined with "\n", as SRT and WebVTT carry them.
    public var text: String { lines.joined(separator: "\n") }

    public var durationMs: Int64 { endMs - startMs }
}
