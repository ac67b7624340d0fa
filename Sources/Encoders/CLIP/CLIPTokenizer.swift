// CLIP's byte-level BPE tokenizer read from a Hugging Face `tokenizer.json`, giving the ids
// transformers' CLIPTokenizer gives:
//   1. the added tokens (<|startoftext|>, <|endoftext|>) are cut out of the text first (on
//      the raw text when the file marks them "normalized": false, else after step 2);
//   2. normaliser: NFC, every whitespace run → one space, per-scalar lower case;
//   3. split, keeping only the matches of CLIP's pattern
//        <\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+
//      (letter runs, single digits, runs of anything else; whitespace is dropped);
//   4. each piece's UTF-8 bytes mapped to GPT-2's printable characters, "</w>" appended to
//      the last one, and merges applied by rank;
//   5. <|startoftext|> ids <|endoftext|>, the ids cut so the whole fits `maxLength` (77).
// The vocabulary lists every byte symbol, so no text is unknown.
import Foundation

public final class CLIPTokenizer: @unchecked Sendable { // immutable after init
    public static let fileName = "tokenizer.json"
    public static let startOfText = "<|startoftext|>"
    public static let endOfText = "<|endoftext|>"
    static let endOfWord = "</w>"

    public let bos: Int32
    public let eos: Int32
    /// Ids per text, both specials included.
    public let maxLength: Int
    /// One more than the highest id.
    public let vocabularySize: Int

    private let vocabulary: [String: Int32]
    private let mergeRanks: [String: Int] // "left right" -> rank
    private let byteToChar: [String] // (256)
    /// Added tokens matched in the raw text / in the normalised text.
    private let rawSpecials: [(String, Int32)]
    private let normalizedSpecials: [(String, Int32)]

    public init(path: String, maxLength: Int = 77) throws(CLIPError) {
        guard let data = FileManager.default.contents(atPath: path) else { throw .missingFile(path: path) }
        guard let json = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
            throw .invalidTokenizer(path: path, reason: "not a JSON object")
        }
        guard let model = json["model"] as? [String: Any], (model["type"] as? String) ?? "BPE" == "BPE",
              let vocab = model["vocab"] as? [String: Any], let merges = model["merges"] as? [Any] else {
            throw .invalidTokenizer(path: path, reason: "no BPE model with \"vocab\" and \"merges\"")
        }
        guard (model["end_of_word_suffix"] as? String) == Self.endOfWord else {
            throw .invalidTokenizer(path: path, reason: "the BPE model has no \"</w>\" end-of-word suffix (not CLIP's tokenizer)")
        }
        var ids: [String: Int32] = [:]
        for (token, value) in vocab {
            guard let n = value as? NSNumber, let id = Int32(exactly: n.doubleValue), id >= 0 else {
                throw .invalidTokenizer(path: path, reason: "vocabulary id of \"\(token)\" is not a non-negative integer")
            }
            ids[token] = id
        }
        var raw: [(String, Int32)] = [], normalized: [(String, Int32)] = []
        for case let added as [String: Any] in (json["added_tokens"] as? [Any]) ?? [] {
            guard let content = added["content"] as? String, !content.isEmpty, let n = added["id"] as? NSNumber,
                  let id = Int32(exactly: n.doubleValue), id >= 0 else {
                throw .invalidTokenizer(path: path, reason: "an added token without content or id")
            }
            ids[content] = id
            if (added["normalized"] as? Bool) ?? true { normalized.append((content, id)) } else { raw.append((content, id)) }
        }
        // Longest first, so a token that contains another wins (as HF's matcher does).
        rawSpecials = raw.sorted { $0.0.count > $1.0.count }
        normalizedSpecials = normalized.sorted { $0.0.count > $1.0.count }
        var ranks: [String: Int] = [:]
        for (rank, merge) in merges.enumerated() {
            if let s = merge as? String {
                ranks[s] = rank
            } else if let pair = merge as? [String], pair.count == 2 {
                ranks[pair[0] + " " + pair[1]] = rank
            } else {
                throw .invalidTokenizer(path: path, reason: "merge \(rank) is neither \"a b\" nor [\"a\", \"b\"]")
            }
        }
        mergeRanks = ranks
        byteToChar = Self.byteMapping()
        for symbol in byteToChar where ids[symbol] == nil || ids[symbol + Self.endOfWord] == nil {
            throw .invalidTokenizer(path: path, reason: "byte symbol \"\(symbol)\" is not in the vocabulary (not a byte-level BPE)")
        }
        guard let b = ids[Self.startOfText], let e = ids[Self.endOfText] else {
            throw .invalidTokenizer(path: path, reason: "no \(Self.startOfText) / \(Self.endOfText) tokens")
        }
        guard maxLength >= 2 else { throw .invalidTokenizer(path: path, reason: "maximum length \(maxLength) leaves no room for the specials") }
        bos = b
        eos = e
        vocabulary = ids
        vocabularySize = Int(ids.values.max() ?? 0) + 1
        self.maxLength = maxLength
    }

    /// <|startoftext|>, the text's ids (at most maxLength - 2 of them), <|endoftext|>.
    public func encode(_ text: String) -> [Int32] {
        var ids: [Int32] = [bos]
        for (piece, special) in Self.split(text, on: rawSpecials) {
            if let special { ids.append(special); continue }
            for (chunk, special) in Self.split(Self.normalize(piece), on: normalizedSpecials) {
                if let special { ids.append(special); continue }
                for word in Self.preTokenize(chunk) { ids += bpe(word) }
            }
            if ids.count > maxLength { break }
        }
        return Array(ids.prefix(maxLength - 1)) + [eos]
    }

    // MARK: - Steps

    /// The text cut into plain pieces (nil) and added tokens (their id), in order.
    static func split(_ text: String, on specials: [(String, Int32)]) -> [(String, Int32?)] {
        guard !specials.isEmpty, !text.isEmpty else { return [(text, nil)] }
        var out: [(String, Int32?)] = []
        var rest = text[...]
        while !rest.isEmpty {
            var earliest: (range: Range<Substring.Index>, id: Int32)?
            for (token, id) in specials {
                if let r = rest.range(of: token), earliest == nil || r.lowerBound < earliest!.range.lowerBound { earliest = (r, id) }
            }
            guard let found = earliest else { out.append((String(rest), nil)); break }
            if found.range.lowerBound > rest.startIndex { out.append((String(rest[..<found.range.lowerBound]), nil)) }
            out.append(("", found.id))
            rest = rest[found.range.upperBound...]
        }
        return out
    }

    /// NFC, whitespace runs → " ", then each scalar's full lower-case mapping (no context,
    /// as Rust's char::to_lowercase, which the reference uses).
    static func normalize(_ text: String) -> String {
        var out = String.UnicodeScalarView()
        var inSpace = false
        for scalar in text.precomposedStringWithCanonicalMapping.unicodeScalars {
            if scalar.properties.isWhitespace {
                if !inSpace { out.append(" ") }
                inSpace = true
                continue
            }
            inSpace = false
            out.append(contentsOf: scalar.properties.lowercaseMapping.unicodeScalars)
        }
        return String(out)
    }

    /// The matches of CLIP's pattern, left to right (alternatives in the pattern's order).
    static func preTokenize(_ text: String) -> [String] {
        let s = Array(text.unicodeScalars)
        func isLetter(_ c: Unicode.Scalar) -> Bool {
            switch c.properties.generalCategory {
            case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter: return true
            default: return false
            }
        }
        func isNumber(_ c: Unicode.Scalar) -> Bool {
            switch c.properties.generalCategory {
            case .decimalNumber, .letterNumber, .otherNumber: return true
            default: return false
            }
        }
        func isOther(_ c: Unicode.Scalar) -> Bool { !c.properties.isWhitespace && !isLetter(c) && !isNumber(c) }
        var pieces: [String] = []
        func emit(_ a: Int, _ b: Int) {
            var v = String.UnicodeScalarView()
            v.append(contentsOf: s[a..<b])
            pieces.append(String(v))
        }
        let specials = [startOfText, endOfText].map { Array($0.unicodeScalars) }
        var i = 0
        scan: while i < s.count {
            let c = s[i]
            // The pattern's first alternatives: the special tokens' spellings, as one piece
            // (reached only by text that became one in normalisation, e.g. upper case).
            for special in specials where c == "<" && s[i...].starts(with: special) {
                emit(i, i + special.count); i += special.count
                continue scan
            }
            if c == "'", i + 1 < s.count {
                let next = s[(i + 1)...].prefix(2).map(Character.init)
                if next.count == 2, ["re", "ve", "ll"].contains(String(next)) { emit(i, i + 3); i += 3; continue }
                if "stmd".contains(next[0]) { emit(i, i + 2); i += 2; continue }
            }
            if isLetter(c) {
                var k = i + 1
                while k < s.count, isLetter(s[k]) { k += 1 }
                emit(i, k); i = k
            } else if isNumber(c) {
                emit(i, i + 1); i += 1
            } else if isOther(c) {
                var k = i + 1
                while k < s.count, isOther(s[k]) { k += 1 }
                emit(i, k); i = k
            } else {
                i += 1 // whitespace: not part of any match
            }
        }
        return pieces
    }

    /// One pre-token's ids: byte symbols, "</w>" on the last, merged lowest rank first.
    private func bpe(_ word: String) -> [Int32] {
        var symbols = word.utf8.map { byteToChar[Int($0)] }
        guard !symbols.isEmpty else { return [] }
        symbols[symbols.count - 1] += Self.endOfWord
        while symbols.count > 1 {
            var best: (rank: Int, index: Int)?
            for i in 0..<(symbols.count - 1) {
                if let r = mergeRanks[symbols[i] + " " + symbols[i + 1]], best.map({ r < $0.rank }) ?? true { best = (r, i) }
            }
            guard let b = best else { break }
            let left = symbols[b.index], right = symbols[b.index + 1]
            var merged: [String] = []
            merged.reserveCapacity(symbols.count)
            var i = 0
            while i < symbols.count {
                if i + 1 < symbols.count, symbols[i] == left, symbols[i + 1] == right {
                    merged.append(left + right); i += 2
                } else {
                    merged.append(symbols[i]); i += 1
                }
            }
            symbols = merged
        }
        // Every symbol is a vocabulary entry: bytes are checked at load and each merge's
        // result is one (CLIP's vocabulary is built from its merges); a merge whose result a
        // hand-edited file lacks falls back to its bytes' ids.
        return symbols.flatMap { symbol -> [Int32] in
            if let id = vocabulary[symbol] { return [id] }
            return symbol.unicodeScalars.compactMap { vocabulary[String($0)] }
        }
    }

    /// GPT-2's reversible byte → printable character table.
    static func byteMapping() -> [String] {
        var bytes = Array(33...126) + Array(161...172) + Array(174...255)
        var chars = bytes
        var extra = 0
        for b in 0..<256 where !bytes.contains(b) {
            bytes.append(b)
            chars.append(256 + extra)
            extra += 1
        }
        var table = [String](repeating: "", count: 256)
        for (b, c) in zip(bytes, chars) { table[b] = String(Character(Unicode.Scalar(UInt32(c))!)) }
        return table
    }
}
