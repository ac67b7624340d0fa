// Whisper's byte-level BPE tokenizer (GPT-2 scheme) read from a Hugging Face
// `tokenizer.json`: vocabulary, merge ranks and the added special tokens
// (<|endoftext|>, <|startoftranscript|>, languages, tasks, <|notimestamps|>, and the 1501
// timestamp tokens <|0.00|> ... <|30.00|> that follow it by id). Encoding pre-splits text
// with GPT-2's pattern, maps UTF-8 bytes to printable characters and applies merges by
// rank; decoding reverses the byte mapping (invalid UTF-8 becomes U+FFFD, as HF does).
import Foundation

public final class WhisperTokenizer: @unchecked Sendable { // immutable after init
    /// Token string (byte-mapped form) per id.
    public let tokens: [String]
    private let ids: [String: Int]
    private let mergeRanks: [String: Int] // "left right" -> rank
    private let byteToChar: [Character] // (256)
    private let charToByte: [Character: UInt8]

    public let eot: Int
    public let sot: Int
    public let transcribe: Int
    public let translate: Int
    public let sotPrev: Int
    public let sotLM: Int
    public let noSpeech: Int
    public let noTimestamps: Int
    public var timestampBegin: Int { noTimestamps + 1 }
    /// Language code ("en") → token id, multilingual models only.
    public let languageTokens: [String: Int]
    public var vocabularySize: Int { tokens.count }
    /// CTranslate2's rule: multilingual checkpoints have the 51865-token vocabulary.
    public var isMultilingual: Bool { tokens.count >= 51865 }

    /// `vocabularySize`: the model's (CTranslate2's vocabulary.txt, which also lists the
    /// timestamp tokens that tokenizer.json leaves implicit); nil counts vocabulary.txt next
    /// to tokenizer.json, else uses tokenizer.json alone.
    public init(path: String, vocabularySize: Int? = nil) throws(WhisperError) {
        let json: [String: Any]
        do {
            let data = try Data(contentsOf: URL(fileURLWithPath: path))
            guard let obj = try JSONSerialization.jsonObject(with: data) as? [String: Any] else {
                throw WhisperError.invalidTokenizer(path: path, reason: "top level is not a JSON object")
            }
            json = obj
        } catch let e as WhisperError {
            throw e
        } catch {
            throw .invalidTokenizer(path: path, reason: "cannot read or parse: \(error.localizedDescription)")
        }
        guard let model = json["model"] as? [String: Any], let vocab = model["vocab"] as? [String: Int] else {
            throw .invalidTokenizer(path: path, reason: "no model.vocab")
        }
        var all = vocab
        for case let added as [String: Any] in (json["added_tokens"] as? [Any]) ?? [] {
            if let c = added["content"] as? String, let id = added["id"] as? Int { all[c] = id }
        }
        var count = (all.values.max() ?? -1) + 1
        let vocabularyTxt = (path as NSString).deletingLastPathComponent + "/vocabulary.txt"
        if let n = vocabularySize {
            count = max(count, n)
        } else if let txt = try? String(contentsOfFile: vocabularyTxt, encoding: .utf8) {
            count = max(count, txt.split(separator: "\n", omittingEmptySubsequences: false).count - (txt.hasSuffix("\n") ? 1 : 0))
        }
        var table = [String](repeating: "", count: count)
        for (t, id) in all where id >= 0 { table[id] = t }
        // Timestamp tokens after <|notimestamps|> are implicit in tokenizer.json.
        if let nts = all["<|notimestamps|>"] {
            for id in (nts + 1)..<max(count, nts + 1) where table[id].isEmpty {
                table[id] = String(format: "<|%.2f|>", Double(id - nts - 1) * 0.02)
            }
        }
        tokens = table
        ids = all
        var ranks: [String: Int] = [:]
        for (i, m) in ((model["merges"] as? [Any]) ?? []).enumerated() {
            if let s = m as? String { ranks[s] = i } else if let p = m as? [String], p.count == 2 { ranks[p[0] + " " + p[1]] = i }
        }
        mergeRanks = ranks
        let (b2c, c2b) = Self.byteMapping()
        byteToChar = b2c
        charToByte = c2b
        func special(_ names: String...) throws(WhisperError) -> Int {
            for n in names { if let id = all[n] { return id } }
            throw .invalidTokenizer(path: path, reason: "missing special token \(names[0])")
        }
        eot = try special("<|endoftext|>")
        sot = try special("<|startoftranscript|>")
        transcribe = try special("<|transcribe|>")
        translate = try special("<|translate|>")
        sotPrev = try special("<|startofprev|>")
        sotLM = try special("<|startoflm|>")
        noSpeech = try special("<|nospeech|>", "<|nocaptions|>")
        noTimestamps = try special("<|notimestamps|>")
        var langs: [String: Int] = [:]
        if count >= 51865 {
            for id in (sot + 1)..<translate {
                let t = table[id]
                if t.hasPrefix("<|") && t.hasSuffix("|>") { langs[String(t.dropFirst(2).dropLast(2))] = id }
            }
        }
        languageTokens = langs
    }

    public func id(of token: String) -> Int? { ids[token] }

    /// The language code of a language token id ("en" for <|en|>).
    public func languageCode(of id: Int) -> String? {
        languageTokens.first { $0.value == id }?.key
    }

    /// The prompt start: [sot, language, task] for multilingual models, [sot] otherwise.
    public func sotSequence(language: String?, task: WhisperTask) throws(WhisperError) -> [Int] {
        guard isMultilingual else { return [sot] }
        let code = language ?? "en"
        guard let lang = languageTokens[code] else { throw .unknownLanguage(code) }
        return [sot, lang, task == .translate ? translate : transcribe]
    }

    // MARK: - Decoding

    /// Text of the text tokens (ids < eot); special and timestamp tokens are dropped.
    public func decode(_ ids: [Int]) -> String {
        decodeBytes(ids.filter { $0 < eot })
    }

    /// Text including special tokens and timestamps spelled "<|1.23|>".
    public func decodeWithTimestamps(_ ids: [Int]) -> String {
        var out = ""
        var run: [Int] = []
        for id in ids {
            if id >= timestampBegin {
                out += decodeBytes(run); run.removeAll()
                out += String(format: "<|%.2f|>", Double(id - timestampBegin) * 0.02)
            } else if id >= eot {
                out += decodeBytes(run); run.removeAll()
                out += id < tokens.count ? tokens[id] : ""
            } else {
                run.append(id)
            }
        }
        return out + decodeBytes(run)
    }

    /// UTF-8 bytes of text tokens.
    public func bytes(of ids: [Int]) -> [UInt8] {
        var bytes: [UInt8] = []
        for id in ids where id >= 0 && id < tokens.count {
            for ch in tokens[id] {
                if let b = charToByte[ch] { bytes.append(b) }
            }
        }
        return bytes
    }

    private func decodeBytes(_ ids: [Int]) -> String {
        ids.isEmpty ? "" : String(decoding: bytes(of: ids), as: UTF8.self)
    }

    // MARK: - Encoding

    /// Token ids of `text` (no special tokens are recognised in the text).
    public func encode(_ text: String) -> [Int] {
        var out: [Int] = []
        for piece in Self.preTokenize(text) {
            let mapped = piece.utf8.map { String(byteToChar[Int($0)]) }
            for t in bpe(mapped) {
                if let id = ids[t] { out.append(id) }
            }
        }
        return out
    }

    private func bpe(_ symbols: [String]) -> [String] {
        var word = symbols
        while word.count > 1 {
            var best: (rank: Int, index: Int)?
            for i in 0..<(word.count - 1) {
                if let r = mergeRanks[word[i] + " " + word[i + 1]], best == nil || r < best!.rank { best = (r, i) }
            }
            guard let b = best else { break }
            let left = word[b.index], right = word[b.index + 1]
            // Merge every occurrence of the best pair, left to right.
            var merged: [String] = []
            var i = 0
            while i < word.count {
                if i < word.count - 1 && word[i] == left && word[i + 1] == right {
                    merged.append(left + right); i += 2
                } else {
                    merged.append(word[i]); i += 1
                }
            }
            word = merged
        }
        return word
    }

    /// GPT-2's pre-tokenizer pattern
    /// 's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
    /// written out as a scanner over Unicode scalars.
    static func preTokenize(_ text: String) -> [String] {
        let s = Array(text.unicodeScalars)
        var pieces: [String] = []
        var i = 0
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
        func isSpace(_ c: Unicode.Scalar) -> Bool { c.properties.isWhitespace }
        func isOther(_ c: Unicode.Scalar) -> Bool { !isSpace(c) && !isLetter(c) && !isNumber(c) }
        func emit(_ a: Int, _ b: Int) {
            var str = String.UnicodeScalarView()
            str.append(contentsOf: s[a..<b])
            pieces.append(String(str))
        }
        while i < s.count {
            // Contractions.
            if s[i] == "'" {
                let rest = s[(i + 1)...].prefix(2).map { Character($0) }
                if rest.count >= 2, ["re", "ve", "ll"].contains(String(rest)) { emit(i, i + 3); i += 3; continue }
                if let f = rest.first, "stmd".contains(f) { emit(i, i + 2); i += 2; continue }
            }
            // Optional single space before a letter / number / other run.
            let start = i
            var j = i
            if s[j] == " ", j + 1 < s.count, !isSpace(s[j + 1]) { j += 1 }
            let c = s[j]
            if !isSpace(c) {
                let cls: (Unicode.Scalar) -> Bool = isLetter(c) ? isLetter : (isNumber(c) ? isNumber : isOther)
                var k = j
                while k < s.count && cls(s[k]) { k += 1 }
                emit(start, k); i = k; continue
            }
            // Whitespace run: leave the last space to the following word.
            var k = i
            while k < s.count && isSpace(s[k]) { k += 1 }
            if k < s.count && k - i > 1 { k -= 1 }
            emit(i, k); i = k
        }
        return pieces
    }

    /// GPT-2's reversible byte → printable character table.
    private static func byteMapping() -> ([Character], [Character: UInt8]) {
        var printable: [Int] = Array(33...126) + Array(161...172) + Array(174...255)
        var chars = printable
        var extra = 0
        for b in 0..<256 where !printable.contains(b) {
            printable.append(b)
            chars.append(256 + extra)
            extra += 1
        }
        var b2c = [Character](repeating: " ", count: 256)
        var c2b: [Character: UInt8] = [:]
        for (b, c) in zip(printable, chars) {
            let ch = Character(Unicode.Scalar(UInt32(c))!)
            b2c[b] = ch
            c2b[ch] = UInt8(b)
        }
        return (b2c, c2b)
    }

    // MARK: - Suppression lists

    /// Tokens of speaker tags and non-speech annotations ("♪", "[", "(("...), suppressed
    /// during decoding; the same list faster-whisper / openai-whisper build.
    public var nonSpeechTokens: [Int] {
        var symbols = "\"#()*+/:;<=>@[\\]^_`{|}~「」『』".map { String($0) }
        symbols += "<< >> <<< >>> -- --- -( -[ (' (\" (( )) ((( ))) [[ ]] {{ }} ♪♪ ♪♪♪".split(separator: " ").map(String.init)
        let miscellaneous = "♩♪♫♬♭♮♯".map { String($0) }
        var result = Set<Int>()
        if let a = encode(" -").first { result.insert(a) }
        if let a = encode(" '").first { result.insert(a) }
        for symbol in symbols + miscellaneous {
            for toks in [encode(symbol), encode(" " + symbol)] {
                if let first = toks.first, toks.count == 1 || miscellaneous.contains(symbol) { result.insert(first) }
            }
        }
        return result.sorted()
    }

    /// faster-whisper's default suppress list: non-speech tokens plus the task / control tokens.
    public var defaultSuppressTokens: [Int] {
        Array(Set(nonSpeechTokens + [transcribe, translate, sot, sotPrev, sotLM, noSpeech])).sorted()
    }
}
