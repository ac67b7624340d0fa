// The character-level half of BERT's basic tokenizer, as Hugging Face `tokenizers` runs it
// (BertNormalizer, then BertPreTokenizer): each input scalar is cleaned (NUL, U+FFFD and
// control / format / private-use scalars dropped, every whitespace scalar made a
// space), CJK ideographs get spaces around them, accents are stripped (canonical
// decomposition, nonspacing marks dropped) and the result lower-cased. The pre-tokenizer then
// cuts at whitespace (dropped) and around every punctuation scalar (kept as its own word).
//
// Everything here works on Unicode scalars, never on Swift Characters (grapheme clusters):
// the reference counts and splits Rust `char`s, which are scalars.
//
// One deliberate simplification: NFD is applied scalar by scalar, so the canonical
// reordering of a run of combining marks is skipped. Only marks of nonzero combining class
// are reordered and almost all of them are nonspacing (dropped anyway); the few spacing ones
// (some musical and Hangul tone marks) could come out in a different order.
import Foundation

struct BertTextNormalizer: Sendable {
    var lowercase: Bool
    var stripAccents: Bool
    var splitChinese: Bool

    /// The reference classifies scalars with the `unicode_categories` crate, whose tables are
    /// those of Unicode 8.0: a scalar assigned later is neither punctuation nor a nonspacing
    /// mark nor a control there (U+2E43 stays inside its word, U+08D4 keeps its place). Its
    /// "other" class also leaves unassigned scalars alone (U+FDD0 becomes [UNK], not nothing).
    /// Pinned by the every-scalar test against the reference.
    static let categoryTablesVersion: Unicode.Version = (major: 8, minor: 0)

    /// Appends the normalized form of `scalar` (zero or more scalars) to `out`.
    @inline(__always)
    func normalize(_ scalar: Unicode.Scalar, into out: inout [Unicode.Scalar]) {
        let v = scalar.value
        if v < 0x80 { // ASCII: no decomposition, one-scalar lower case
            if v == 0x09 || v == 0x0A || v == 0x0D || v == 0x20 { out.append(" "); return }
            if v < 0x20 || v == 0x7F { return } // controls
            if lowercase, v >= 0x41, v <= 0x5A { out.append(Unicode.Scalar(v + 32)!); return }
            out.append(scalar)
            return
        }
        if v == 0xFFFD || Self.isOther(scalar) { return }
        if scalar.properties.isWhitespace { out.append(" "); return }
        // Ideographs are spaced before accents are stripped, as in the reference: a
        // compatibility ideograph (U+F900...) is spaced, then decomposes to its unified form.
        let spaced = splitChinese && Self.isChineseIdeograph(v)
        if spaced { out.append(" ") }
        if stripAccents {
            for s in String(scalar).decomposedStringWithCanonicalMapping.unicodeScalars where !Self.isNonspacingMark(s) {
                appendLowercased(s, into: &out)
            }
        } else {
            appendLowercased(scalar, into: &out)
        }
        if spaced { out.append(" ") }
    }

    @inline(__always)
    private func appendLowercased(_ s: Unicode.Scalar, into out: inout [Unicode.Scalar]) {
        if lowercase {
            out.append(contentsOf: s.properties.lowercaseMapping.unicodeScalars)
        } else {
            out.append(s)
        }
    }

    /// Whitespace as the pre-tokenizer splits on (Rust `char::is_whitespace`: the Unicode
    /// White_Space property).
    @inline(__always)
    static func isWhitespace(_ s: Unicode.Scalar) -> Bool {
        s.value < 0x80 ? (s == " " || (s.value >= 0x09 && s.value <= 0x0D)) : s.properties.isWhitespace
    }

    /// BERT punctuation: every ASCII punctuation or symbol character (`$`, `+`, `<`, `^`, …),
    /// and any scalar of a Unicode punctuation category (Pc Pd Ps Pe Pi Pf Po).
    @inline(__always)
    static func isPunctuation(_ s: Unicode.Scalar) -> Bool {
        let v = s.value
        if v < 0x80 { return (v >= 33 && v <= 47) || (v >= 58 && v <= 64) || (v >= 91 && v <= 96) || (v >= 123 && v <= 126) }
        switch referenceCategory(s) {
        case .connectorPunctuation, .dashPunctuation, .openPunctuation, .closePunctuation,
             .initialPunctuation, .finalPunctuation, .otherPunctuation: return true
        default: return false
        }
    }

    /// Control, format, private-use or surrogate (Cc Cf Co Cs) per the reference's tables;
    /// tab, newline and carriage return are whitespace instead.
    @inline(__always)
    static func isOther(_ s: Unicode.Scalar) -> Bool {
        switch referenceCategory(s) {
        case .control, .format, .privateUse, .surrogate: return true
        default: return false
        }
    }

    @inline(__always)
    static func isNonspacingMark(_ s: Unicode.Scalar) -> Bool {
        referenceCategory(s) == .nonspacingMark
    }

    @inline(__always)
    static func isAssignedInReferenceTables(_ s: Unicode.Scalar) -> Bool {
        guard let age = s.properties.age else { return false }
        return age.major < categoryTablesVersion.major
            || (age.major == categoryTablesVersion.major && age.minor <= categoryTablesVersion.minor)
    }

    /// The scalar's general category as the reference's Unicode 8.0 tables have it.
    @inline(__always)
    static func referenceCategory(_ s: Unicode.Scalar) -> Unicode.GeneralCategory? {
        guard isAssignedInReferenceTables(s) else { return nil }
        return categoryChangedSince8[s.value] ?? s.properties.generalCategory
    }

    /// Scalars whose category Unicode changed after 8.0 in a way that matters here, with
    /// their 8.0 category (found by the every-scalar test; all others agree).
    static let categoryChangedSince8: [UInt32: Unicode.GeneralCategory] = [
        0x166D: .otherPunctuation, // CANADIAN SYLLABICS CHI SIGN, So now
        0x1734: .nonspacingMark,   // HANUNOO SIGN PAMUDPOD, Mc now
        0x1885: .otherLetter,      // MONGOLIAN LETTER ALI GALI BALUDA, Mn now
        0x1886: .otherLetter,      // MONGOLIAN LETTER ALI GALI THREE BALUDA, Mn now
        0xA9BD: .spacingMark,      // JAVANESE CONSONANT SIGN KERET, Mn now
        0x111C9: .otherPunctuation, // SHARADA SANDHI MARK, Mn now
        0x1171E: .nonspacingMark,  // AHOM CONSONANT SIGN MEDIAL RA, Mc now
    ]

    /// The CJK Unified Ideographs blocks (and compatibility ideographs) BERT splits one by one;
    /// Hangul, Hiragana and Katakana are not among them.
    @inline(__always)
    static func isChineseIdeograph(_ v: UInt32) -> Bool {
        switch v {
        case 0x4E00...0x9FFF, 0x3400...0x4DBF, 0x20000...0x2A6DF, 0x2A700...0x2B73F,
             0x2B740...0x2B81F, 0x2B920...0x2CEAF, 0xF900...0xFAFF, 0x2F800...0x2FA1F: return true
        default: return false
        }
    }
}
