// Turns free text typed by a user into a safe FTS5 MATCH expression. User text is never
// passed to MATCH as is: FTS5 syntax characters (quotes, parentheses, `*`, `:`, `-`, NEAR,
// AND/OR/NOT) would make ordinary questions fail to parse or change their meaning.
import SightlineCore

public enum FTSQuery {
    /// The words of `text`: runs of letters and digits, lowercased (what unicode61 indexes).
    public static func tokens(_ text: String) -> [String] { MomentQuery.words(in: text) }

    /// Every word must occur (implicit AND of quoted terms).
    public static func all(_ tokens: [String]) -> String {
        tokens.map(quote).joined(separator: " ")
    }

    /// Any word may occur; bm25 ranks windows with more and rarer words first.
    public static func any(_ tokens: [String]) -> String {
        tokens.map(quote).joined(separator: " OR ")
    }

    public static func quote(_ token: String) -> String {
        "\"" + token.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}
