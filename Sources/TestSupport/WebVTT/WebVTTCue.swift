// One cue read from a WebVTT file, with the cue settings as the WebVTT API exposes them (vtt.js
// naming and defaults: align "middle", lineAlign "start", positionAlign derived from align).
// Times are Int64 milliseconds; `text` is the raw cue payload (tags and entities untouched,
// lines joined with "\n"); `WebVTTCueText.plainText` gives what a viewer would display.
public struct WebVTTCue: Sendable, Hashable {
    public var id: String = ""
    public var startMs: Int64
    public var endMs: Int64
    public var text: String
    /// "" (horizontal), "rl" or "lr".
    public var vertical: String = ""
    /// nil = "auto"; a line number when `snapToLines`, else a percentage.
    public var line: Double? = nil
    public var lineAlign: String = "start"
    /// nil = "auto"; else a percentage.
    public var position: Double? = nil
    public var positionAlign: String = "middle"
    public var size: Double = 100
    /// "start", "middle", "end", "left" or "right".
    public var align: String = "middle"
    public var region: WebVTTRegion? = nil
    public var snapToLines: Bool = true

    public init(startMs: Int64, endMs: Int64, text: String) {
        self.startMs = startMs
        self.endMs = endMs
        self.text = text
    }
}
