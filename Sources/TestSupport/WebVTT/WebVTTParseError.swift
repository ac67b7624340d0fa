// Why a WebVTT file could not be parsed at all. (Malformed single cues are not errors: like
// browsers, the parser drops them and lists them in `WebVTTDocument.droppedBlockLines`.)
public enum WebVTTParseError: Error, Equatable, CustomStringConvertible {
    /// The first line is not "WEBVTT" optionally followed by a space or tab and text.
    case missingSignature(firstLine: String)

    public var description: String {
        switch self {
        case .missingSignature(let line):
            let shown = line.count > 40 ? String(line.prefix(40)) + "…" : line
            return "not a WebVTT file: the first line must start with \"WEBVTT\" "
                + "(found \"\(shown)\"); check that the file is WebVTT and not SRT or another format"
        }
    }
}
