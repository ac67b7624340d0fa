// BERT's WordPiece tokenizer, reproducing Hugging Face `tokenizers`' BertTokenizer as built
// from a checkpoint's tokenizer.json, or vocab.txt and tokenizer_config.json
// (WordPieceTokenizer+Files.swift):
//   1. special tokens written literally in the text ("[MASK]", "[SEP]", …) are matched first,
//      case-sensitively, and become their ids (the reference's added tokens, not normalized);
//   2. the rest is normalized and pre-tokenized (BertTextNormalizer: clean, CJK spacing,
//      accent stripping, lower case; split at whitespace and around punctuation);
//   3. each word becomes WordPiece pieces by greedy longest match from the left, later
//      pieces prefixed "##"; a word longer than 100 scalars, or one that cannot be covered by
//      vocabulary pieces, becomes one [UNK];
//   4. [CLS] pieces… [SEP], truncated to `maxLength` ids in all (pieces beyond are dropped).
// The text is consumed as a stream and tokenization stops once `maxLength` ids are known,
// so a megabyte of text costs no more than its first few hundred words.
import Foundation

public struct WordPieceTokenizer: Sendable {
    /// The reference's `max_input_chars_per_word`.
    public static let maxScalarsPerWord = 100
    static let continuationPrefix = "##"

    /// Ids including [CLS] and [SEP] (sentence-transformers' `max_seq_length`).
    public let maxLength: Int
    public let vocabularySize: Int
    public let clsID: Int32, sepID: Int32, unknownID: Int32
    private let ids: [Piece: Int32]
    private let pieces: [String]
    /// Literal special-token strings matched in the raw text, with their ids.
    private let specials: [(scalars: [Unicode.Scalar], id: Int32)]
    private let normalizer: BertTextNormalizer
    /// The longest vocabulary entry in scalars: no piece can be longer, so the greedy match
    /// starts there instead of at the end of a 100-scalar word.
    private let longestPiece: Int

    /// The tokens with a role, and the literal strings matched in raw text (the
    /// reference's added tokens); each is looked up in the vocabulary.
    public struct SpecialTokens: Sendable {
        public var cls = "[CLS]", sep = "[SEP]", unknown = "[UNK]"
        public var literals = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
        public init() {}
    }

    /// A tokenizer over `vocabulary` (id = index).
    public init(vocabulary: [String], maxLength: Int, lowercase: Bool = true, stripAccents: Bool? = nil,
                splitChineseCharacters: Bool = true, specialTokens: SpecialTokens = SpecialTokens(),
                source: String = "vocabulary") throws(TextEmbedderError) {
        guard maxLength >= 2 else {
            throw .invalidConfig(path: source, reason: "maximum length \(maxLength) leaves no room for [CLS] and [SEP]")
        }
        guard !vocabulary.isEmpty, vocabulary.count <= Int(Int32.max) else {
            throw .invalidVocabulary(path: source, reason: "\(vocabulary.count) entries")
        }
        var ids: [Piece: Int32] = [:]
        ids.reserveCapacity(vocabulary.count)
        var longest = 1
        for (i, piece) in vocabulary.enumerated() { // a repeated piece keeps its last id, as the reference reads vocab.txt
            ids[Piece(piece)] = Int32(i)
            longest = max(longest, piece.unicodeScalars.count)
        }
        func id(_ token: String) throws(TextEmbedderError) -> Int32 {
            guard let id = ids[Piece(token)] else { throw .invalidVocabulary(path: source, reason: "special token \(token) is missing") }
            return id
        }
        clsID = try id(specialTokens.cls)
        sepID = try id(specialTokens.sep)
        unknownID = try id(specialTokens.unknown)
        var specials: [(scalars: [Unicode.Scalar], id: Int32)] = []
        for token in specialTokens.literals where !token.isEmpty { // one missing from the vocabulary is never produced
            if let i = ids[Piece(token)] { specials.append((Array(token.unicodeScalars), i)) }
        }
        // Longest first, so one special token that is a prefix of another cannot shadow it.
        self.specials = specials.sorted { $0.scalars.count > $1.scalars.count }
        self.ids = ids
        pieces = vocabulary
        vocabularySize = vocabulary.count
        longestPiece = longest
        self.maxLength = maxLength
        normalizer = BertTextNormalizer(lowercase: lowercase, stripAccents: stripAccents ?? lowercase,
                                        splitChinese: splitChineseCharacters)
    }

    /// The piece for an id (nil outside the vocabulary).
    public func piece(_ id: Int32) -> String? { id >= 0 && Int(id) < pieces.count ? pieces[Int(id)] : nil }

    /// [CLS] pieces… [SEP] for `text`, at most `maxLength` ids.
    public func encode(_ text: String) -> [Int32] {
        let budget = maxLength - 2 // ids between [CLS] and [SEP]
        var out: [Int32] = [clsID]
        out.reserveCapacity(min(maxLength, 64))
        var word: [Unicode.Scalar] = []   // the word being collected (normalized scalars)
        var normalized: [Unicode.Scalar] = []
        normalized.reserveCapacity(8)

        func endWord() {
            guard !word.isEmpty else { return }
            appendPieces(of: word, to: &out)
            word.removeAll(keepingCapacity: true)
        }

        let scalars = text.unicodeScalars
        var i = scalars.startIndex
        while i < scalars.endIndex && out.count - 1 < budget {
            let scalar = scalars[i]
            if scalar == "[", let special = special(at: i, in: scalars) {
                endWord()
                if out.count - 1 < budget { out.append(special.id) }
                i = special.end
                continue
            }
            normalized.removeAll(keepingCapacity: true)
            normalizer.normalize(scalar, into: &normalized)
            for s in normalized {
                if BertTextNormalizer.isWhitespace(s) {
                    endWord()
                } else if BertTextNormalizer.isPunctuation(s) {
                    endWord()
                    word.append(s)
                    endWord()
                } else {
                    word.append(s)
                }
            }
            i = scalars.index(after: i)
        }
        endWord()
        if out.count - 1 > budget { out.removeLast(out.count - 1 - budget) }
        out.append(sepID)
        return out
    }

    /// The special token written at `i`, if one is, and the index after it.
    private func special(at i: String.UnicodeScalarView.Index, in scalars: String.UnicodeScalarView)
        -> (id: Int32, end: String.UnicodeScalarView.Index)? {
        for candidate in specials {
            var j = i
            var matched = true
            for s in candidate.scalars {
                guard j < scalars.endIndex, scalars[j] == s else { matched = false; break }
                j = scalars.index(after: j)
            }
            if matched { return (candidate.id, j) }
        }
        return nil
    }

    /// WordPiece: greedy longest match from the left over the word's scalars.
    private func appendPieces(of word: [Unicode.Scalar], to out: inout [Int32]) {
        guard word.count <= Self.maxScalarsPerWord else { out.append(unknownID); return }
        let mark = out.count
        var start = 0
        var candidate = String.UnicodeScalarView()
        while start < word.count {
            var end = min(word.count, start + longestPiece)
            var found: Int32?
            while end > start {
                candidate.removeAll(keepingCapacity: true)
                if start > 0 { candidate.append(contentsOf: Self.continuationPrefix.unicodeScalars) }
                candidate.append(contentsOf: word[start..<end])
                if let id = ids[Piece(String(candidate))] { found = id; break }
                end -= 1
            }
            guard let id = found else {
                out.removeLast(out.count - mark)
                out.append(unknownID)
                return
            }
            out.append(id)
            start = end
        }
    }
}

/// A vocabulary key compared by its UTF-8 bytes. Swift's String equality is canonical
/// equivalence ("é" == "e\u{301}"), but the reference looks pieces up byte for byte.
private struct Piece: Hashable {
    let text: String
    init(_ text: String) { self.text = text }
    static func == (a: Piece, b: Piece) -> Bool { a.text.utf8.elementsEqual(b.text.utf8) }
    func hash(into h: inout Hasher) {
        for byte in text.utf8 { h.combine(byte) }
    }
}
