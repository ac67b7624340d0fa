// A check TOMLKit's parser (toml++ 3.4.0) needs before it sees a file: a table header whose
// '[' or '[[' is followed by anything but a key, such as "[#", "[=]", "[.a]", "[[\n" or
// "[&", makes toml++ call its key parser on a character it cannot start with, which aborts
// the process on an assertion (upstream: marzer/tomlplusplus#294 and #301, LebJe/TOMLKit#30).
// One stray line in sightline.toml or a stream file would then kill `config check`,
// `serve` and a running daemon's SIGHUP reload. This scan finds such headers first and
// reports them as an ordinary syntax error with their line and column.
//
// It follows just enough of TOML to know where a table header can start: outside strings
// (basic, literal and both multi-line kinds), comments and values (arrays and inline
// tables, which may span lines), as the first thing on a line.

extension TOMLReader {
    /// The first table header with no key after its bracket(s): (line, column, what follows), 1-based.
    static func malformedTableHeader(in text: String) -> (line: Int, column: Int, found: String)? {
        let s = Array(text.unicodeScalars)
        var i = 0, line = 1, lineStart = 0
        var depth = 0          // open '[' and '{' of a value (or of a header being read)
        var inValue = false    // after '=' until the value's line ends
        var onlySpaceSoFar = true
        func at(_ k: Int) -> Unicode.Scalar? { k < s.count ? s[k] : nil }
        func isKeyStart(_ c: Unicode.Scalar) -> Bool {
            ("A"..."Z").contains(c) || ("a"..."z").contains(c) || ("0"..."9").contains(c) || c == "_" || c == "-" || c == "\"" || c == "'"
        }
        /// Skips a string opened at `i` by `quote` (one or three of them); counts the lines it spans.
        func skipString(_ quote: Unicode.Scalar) {
            let triple = at(i + 1) == quote && at(i + 2) == quote
            i += triple ? 3 : 1
            while i < s.count {
                let c = s[i]
                if c == "\\" && quote == "\"" { i += 2; continue }
                if c == "\n" {
                    if !triple { return } // unterminated: the parser reports it
                    line += 1
                    lineStart = i + 1
                }
                if c == quote && (!triple || (at(i + 1) == quote && at(i + 2) == quote)) {
                    i += triple ? 3 : 1
                    return
                }
                i += 1
            }
        }
        while i < s.count {
            let c = s[i]
            switch c {
            case "\n":
                if depth == 0 { inValue = false }
                line += 1
                lineStart = i + 1
                onlySpaceSoFar = true
                i += 1
            case " ", "\t", "\r":
                i += 1
            case "#":
                while i < s.count && s[i] != "\n" { i += 1 }
            case "\"", "'":
                onlySpaceSoFar = false
                skipString(c)
            case "[" where depth == 0 && !inValue && onlySpaceSoFar:
                // A table header: '[' or '[[', optional blanks, then a key or ']'.
                var k = i + 1
                if at(k) == "[" { k += 1 }
                while at(k) == " " || at(k) == "\t" { k += 1 }
                if let next = at(k), !isKeyStart(next), next != "]" {
                    let shown = next == "\n" || next == "\r" ? "the end of the line" : "'\(Character(next))'"
                    return (line, i - lineStart + 1, shown)
                }
                // Its brackets count like a value's, so nothing inside is taken for a new line's start.
                let opened = at(i + 1) == "[" ? 2 : 1
                onlySpaceSoFar = false
                depth += opened
                i += opened
            case "[", "{":
                onlySpaceSoFar = false
                depth += 1
                i += 1
            case "]", "}":
                onlySpaceSoFar = false
                depth = max(0, depth - 1)
                i += 1
            case "=":
                onlySpaceSoFar = false
                if depth == 0 { inValue = true }
                i += 1
            default:
                onlySpaceSoFar = false
                i += 1
            }
        }
        return nil
    }
}
