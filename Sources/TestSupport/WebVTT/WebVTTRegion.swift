// A WebVTT region as defined in a file's header (vtt.js "Region: id=.. width=..%" line or a
// WHATWG "REGION" block). Percentages are 0...100 as in the WebVTT API; defaults per the spec.
public struct WebVTTRegion: Sendable, Hashable {
    public var id: String = ""
    public var width: Double = 100
    public var lines: Int = 3
    public var regionAnchorX: Double = 0
    public var regionAnchorY: Double = 100
    public var viewportAnchorX: Double = 0
    public var viewportAnchorY: Double = 100
    /// "" or "up".
    public var scroll: String = ""

    public init() {}
}
