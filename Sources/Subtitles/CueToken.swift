// The unit the cue builder lays out: one word (or, without word timestamps, one
// whitespace-separated piece of a segment's text) with its time span. `text` keeps its leading
// space so that joining tokens reproduces the transcript's spacing (none between CJK words).
import SpokenWords

struct CueToken: Sendable, Hashable {
    var text: String
    var startMs: Int64
    var endMs: Int64

    /// Characters that end a sentence, looked at after closing quotes and brackets.
    private static let sentenceEnders: Set<Character> = [".", "?", "!", "…", "。", "？", "！"]
    /// Characters that end a clause: acceptable, weaker split points.
    private static let clauseEnders: Set<Character> = [",", ";", ":", "—", "–", "、", "，", "；", "："]
    private static let closers: Set<Character> = ["\"", "'", ")", "]", "”", "’", "»", "」", "』"]

    /// The last character that is not a closing quote or bracket.
    private var finalMark: Character? {
        text.reversed().first { !Self.closers.contains($0) && !$0.isWhitespace }
    }

    /// Words whose final period is not a sentence end ("Mr. Quilter", "e.g. this").
    private static let abbreviations: Set<String> = [
        "mr.", "mrs.", "ms.", "dr.", "prof.", "st.", "jr.", "sr.", "mt.", "vs.", "etc.", "e.g.", "i.e.",
        "no.", "vol.", "fig.", "gen.", "gov.", "sen.", "rep.", "rev.", "capt.", "lt.", "col.", "sgt.",
        "inc.", "ltd.", "co.", "corp.", "approx.", "dept.", "est.", "jan.", "feb.", "aug.", "sept.",
        "oct.", "nov.", "dec.",
    ]

    var endsSentence: Bool {
        guard let mark = finalMark, Self.sentenceEnders.contains(mark) else { return false }
        guard mark == "." else { return true }
        let word = text.trimmingWhitespace.lowercased()
        // "Mr.", "e.g.", and initials such as "J." or "U.S." do not end a sentence.
        if Self.abbreviations.contains(word) { return false }
        let letters = word.filter { $0 != "." }
        return !(letters.count == 1 || (word.dropLast().contains(".") && letters.count <= 4))
    }
    var endsClause: Bool { finalMark.map { Self.clauseEnders.contains($0) } ?? false }

    /// English words that open a clause: conjunctions and relative or question words.
    /// Subtitle practice breaks a line or cue before them rather than inside the clause they
    /// open ("to consider | how much", not "to consider how | much"). Prepositions are left
    /// out: "can do | for you" is no better a break than any other inside a clause. Other
    /// languages break as before: at marks and pauses first, else where the text fits.
    private static let clauseOpeners: Set<String> = [
        "and", "but", "or", "nor", "so", "yet", "because", "although", "though", "while", "whereas", "if", "unless",
        "until", "when", "whenever", "where", "wherever", "whether", "since", "that", "which", "who", "whom",
        "whose", "what", "how", "why",
    ]

    /// Whether a break before this word falls between clauses.
    var opensClause: Bool {
        let word = text.trimmingWhitespace.lowercased().drop { !$0.isLetter }
        return Self.clauseOpeners.contains(String(word))
    }
}

extension CueToken {
    /// Tokens of one segment: its words when it has them, else its text split at whitespace with
    /// times spread in proportion to the characters (an estimate, but one that keeps cues inside
    /// the segment and lets sentence ends inside a long segment start new cues).
    static func tokens(of segment: TranscriptSegment, maxCharactersPerLine: Int) -> [CueToken] {
        if !segment.words.isEmpty {
            return segment.words.compactMap { word in
                let text = normalizedWhitespace(word.word)
                guard !text.allSatisfy(\.isWhitespace) else { return nil }
                return CueToken(text: text, startMs: word.startMs, endMs: max(word.startMs, word.endMs))
            }
        }
        let pieces = splitKeepingLeadingSpace(normalizedWhitespace(segment.text), maxCharactersPerLine)
        guard !pieces.isEmpty else { return [] }
        let weights = pieces.map { max(1, $0.trimmingWhitespace.count) }
        let total = Int64(weights.reduce(0, +))
        let span = max(0, segment.endMs - segment.startMs)
        var tokens: [CueToken] = []
        var done: Int64 = 0
        for (piece, weight) in zip(pieces, weights) {
            let start = segment.startMs + span * done / total
            done += Int64(weight)
            let end = segment.startMs + span * done / total
            tokens.append(CueToken(text: piece, startMs: start, endMs: end))
        }
        return tokens
    }

    /// Joins tokens that continue a word: Whisper splits "ill-disposed" into " ill" + "-disposed"
    /// and "washwater" may come in pieces; a token without leading space is glued to the
    /// previous one unless either side is in a script written without spaces (CJK, Thai), where
    /// every token boundary is a possible break.
    static func gluingWordPieces(_ tokens: [CueToken]) -> [CueToken] {
        var out: [CueToken] = []
        out.reserveCapacity(tokens.count)
        for token in tokens {
            if let last = out.last, let first = token.text.first, !first.isWhitespace,
                let end = last.text.last, !isSpaceless(end), !isSpaceless(first)
            {
                out[out.count - 1] = CueToken(
                    text: last.text + token.text, startMs: last.startMs, endMs: max(last.endMs, token.endMs))
            } else {
                out.append(token)
            }
        }
        return out
    }

    /// Characters of scripts written without spaces between words.
    static func isSpaceless(_ c: Character) -> Bool {
        guard let v = c.unicodeScalars.first?.value else { return false }
        switch v {
        case 0x0E00...0x0E7F,  // Thai
            0x0E80...0x0EFF,  // Lao
            0x1000...0x109F,  // Myanmar
            0x1780...0x17FF,  // Khmer
            0x3000...0x303F,  // CJK symbols and punctuation
            0x3040...0x30FF,  // Hiragana, Katakana
            0x3400...0x4DBF,  // CJK extension A
            0x4E00...0x9FFF,  // CJK unified ideographs
            0xF900...0xFAFF,  // CJK compatibility ideographs
            0xFF00...0xFFEF,  // half- and full-width forms
            0x20000...0x2FA1F:  // CJK extensions B+
            return true
        default:
            return false
        }
    }

    /// Newlines and tabs in recogniser output would break SRT/WebVTT blocks: make them spaces.
    static func normalizedWhitespace(_ s: String) -> String {
        String(s.map { $0.isNewline || $0 == "\t" ? " " : $0 })
    }

    /// Full-width sentence ends: CJK text has no spaces, so pieces are also cut after these.
    private static let fullWidthSentenceEnders: Set<Character> = ["。", "？", "！"]

    /// "  a bb c" → ["  a", " bb", " c"]. A piece without spaces that is longer than a line
    /// (CJK text, which has no spaces) is cut into single characters so it can still be broken.
    private static func splitKeepingLeadingSpace(_ s: String, _ maxLine: Int) -> [String] {
        var pieces: [String] = []
        var current = ""
        var inWord = false
        for ch in s {
            if ch.isWhitespace {
                if inWord { pieces.append(current); current = ""; inWord = false }
                current.append(ch)
            } else {
                current.append(ch)
                inWord = true
                if fullWidthSentenceEnders.contains(ch) { pieces.append(current); current = ""; inWord = false }
            }
        }
        if inWord { pieces.append(current) }
        return pieces.flatMap { piece -> [String] in
            let word = piece.trimmingWhitespace
            guard word.count > maxLine else { return [piece] }
            let lead = String(piece.prefix { $0.isWhitespace })
            return word.enumerated().map { i, ch in i == 0 ? lead + String(ch) : String(ch) }
        }
    }
}
