// What a WebVTT cue payload displays as plain text: the text nodes of the WHATWG cue-text
// parse (as vtt.js builds them), i.e. tags (<v Name>, <c.cls>, <i>, <b>, <u>, <ruby>, <rt>,
// <lang>, </..>) and timestamp tags (<00:01.000>) removed, and the character references
// vtt.js knows (&amp; &lt; &gt; &lrm; &rlm; &nbsp;) decoded. Anything else stays literal.
public enum WebVTTCueText {
    public static func plainText(_ payload: String) -> String {
        var out = ""
        var text = ""
        var i = payload.startIndex
        while i < payload.endIndex {
            if payload[i] == "<" {
                out += unescape(text)
                text = ""
                // A tag runs to the next ">" or, unterminated, to the end of the payload.
                if let close = payload[i...].firstIndex(of: ">") {
                    i = payload.index(after: close)
                } else {
                    i = payload.endIndex
                }
            } else {
                text.append(payload[i])
                i = payload.index(after: i)
            }
        }
        return out + unescape(text)
    }

    private static let references: [(String, String)] = [
        ("&amp;", "&"), ("&lt;", "<"), ("&gt;", ">"),
        ("&lrm;", "\u{200E}"), ("&rlm;", "\u{200F}"), ("&nbsp;", "\u{00A0}"),
    ]

    /// Decodes the six references in one left-to-right pass ("&amp;lt;" → "&lt;", not "<").
    static func unescape(_ s: String) -> String {
        guard s.contains("&") else { return s }
        var out = ""
        var rest = s[...]
        outer: while let amp = rest.firstIndex(of: "&") {
            out += rest[..<amp]
            let tail = rest[amp...]
            for (name, value) in references where tail.hasPrefix(name) {
                out += value
                rest = tail.dropFirst(name.count)
                continue outer
            }
            out += "&"
            rest = tail.dropFirst()
        }
        return out + rest
    }
}
