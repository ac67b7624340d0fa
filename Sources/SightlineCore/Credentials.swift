// Camera URLs carry credentials (rtsp://user:password@host/stream). They are needed to open
// the source and nowhere else: every text that leaves the daemon — the API's stream list
// and errors, event payloads, the store's streams table, logs, `config check` — goes
// through `Credentials.redact`, the one place that knows how to hide them.
//
// Rule: in every URL of the text (`scheme://` up to whitespace or a quote), everything from
// the `://` to the last `@` is replaced by `***`. Taking the last `@` (not the first `/`)
// also hides a password written with an unescaped `/` or `@`; a path that happens to hold
// an `@` is hidden too, which costs nothing but a little detail.

public enum Credentials {
    /// The replacement of a URL's user information.
    public static let mask = "***"

    /// `text` with the user information of every URL in it replaced by `***`.
    public static func redact(_ text: String) -> String {
        guard text.contains("://") else { return text }
        var out = ""
        var rest = Substring(text)
        while let scheme = rest.range(of: "://") {
            out += rest[..<scheme.upperBound]
            let afterScheme = rest[scheme.upperBound...]
            let tokenEnd = afterScheme.firstIndex { $0.isWhitespace || "'\"<>`".contains($0) } ?? afterScheme.endIndex
            let token = afterScheme[..<tokenEnd]
            if let at = token.lastIndex(of: "@") {
                out += mask
                out += token[at...]
            } else {
                out += token
            }
            rest = afterScheme[tokenEnd...]
        }
        out += rest
        return out
    }
}
