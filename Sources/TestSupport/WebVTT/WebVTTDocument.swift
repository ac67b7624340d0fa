// The result of parsing a WebVTT file: its regions and cues in file order, and the line
// numbers (1-based) of blocks that were dropped as malformed (bad timing line and the like),
// so a caller can tell "parsed cleanly" from "parsed with losses".
public struct WebVTTDocument: Sendable, Hashable {
    public var regions: [WebVTTRegion] = []
    public var cues: [WebVTTCue] = []
    public var droppedBlockLines: [Int] = []

    public init() {}
}
