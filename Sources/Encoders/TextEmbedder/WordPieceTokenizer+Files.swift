// Building a WordPieceTokenizer from a checkpoint directory, in the two layouts checkpoints
// ship:
//   tokenizer.json (Hugging Face `tokenizers`, what the reference itself runs): a WordPiece
//     model {"vocab": {piece: id}, "unk_token", "continuing_subword_prefix": "##",
//     "max_input_chars_per_word": 100}, a BertNormalizer {lowercase, strip_accents,
//     handle_chinese_chars}, a BertPreTokenizer, a post-processor that frames the ids with
//     [CLS] … [SEP] (TemplateProcessing or BertProcessing), and the added tokens matched
//     literally in the text. Preferred when present.
//   vocab.txt (one piece per line, id = line number) + optional tokenizer_config.json
//     (do_lower_case, strip_accents, tokenize_chinese_chars, the special tokens), as
//     transformers' slow BertTokenizer reads them; BERT's defaults for what is missing.
// Anything else (another model type, normalizer or pre-tokenizer) is rejected by name rather
// than tokenized differently from the reference.
import Foundation

extension WordPieceTokenizer {
    public static let tokenizerFile = "tokenizer.json"
    public static let vocabularyFile = "vocab.txt"

    /// From tokenizer.json when the directory has one, else vocab.txt + tokenizer_config.json.
    public init(directory: URL, maxLength: Int) throws(TextEmbedderError) {
        let json = directory.appendingPathComponent(Self.tokenizerFile)
        if FileManager.default.fileExists(atPath: json.path) {
            try self.init(tokenizerJSON: json, maxLength: maxLength)
        } else {
            try self.init(vocabularyDirectory: directory, maxLength: maxLength)
        }
    }

    /// From a Hugging Face tokenizer.json holding a BERT WordPiece tokenizer.
    public init(tokenizerJSON url: URL, maxLength: Int) throws(TextEmbedderError) {
        let path = url.path
        func bad(_ reason: String) -> TextEmbedderError { .invalidVocabulary(path: path, reason: reason) }
        func unsupported(_ reason: String) -> TextEmbedderError { .unsupported(path: path, reason: reason) }
        guard let data = FileManager.default.contents(atPath: path) else { throw bad("cannot read the file") }
        guard let root = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else { throw bad("not a JSON object") }
        guard let model = root["model"] as? [String: Any], (model["type"] as? String) == "WordPiece" else {
            throw unsupported("the tokenizer model is \((root["model"] as? [String: Any])?["type"] ?? "missing"), not WordPiece")
        }
        if let prefix = model["continuing_subword_prefix"] as? String, prefix != Self.continuationPrefix {
            throw unsupported("continuing_subword_prefix \"\(prefix)\" (only \"##\" is supported)")
        }
        if let limit = (model["max_input_chars_per_word"] as? NSNumber)?.intValue, limit != Self.maxScalarsPerWord {
            throw unsupported("max_input_chars_per_word \(limit) (only \(Self.maxScalarsPerWord) is supported)")
        }
        guard let vocab = model["vocab"] as? [String: Any], !vocab.isEmpty, vocab.count <= 1 << 24 else {
            throw bad("model.vocab is missing or empty")
        }
        var pieces = [String?](repeating: nil, count: vocab.count)
        for (piece, value) in vocab {
            guard let n = value as? NSNumber, let id = Int(exactly: n.doubleValue), id >= 0, id < pieces.count, pieces[id] == nil else {
                throw bad("ids of model.vocab are not 0..<\(vocab.count), each once (\"\(piece)\": \(value))")
            }
            pieces[id] = piece
        }
        // Normalizer and pre-tokenizer: exactly BERT's, else we would tokenize differently.
        guard let normalizer = root["normalizer"] as? [String: Any], (normalizer["type"] as? String) == "BertNormalizer" else {
            throw unsupported("normalizer \((root["normalizer"] as? [String: Any])?["type"] ?? "none") (only BertNormalizer is supported)")
        }
        if (normalizer["clean_text"] as? Bool) == false { throw unsupported("BertNormalizer without clean_text") }
        guard let pre = root["pre_tokenizer"] as? [String: Any], (pre["type"] as? String) == "BertPreTokenizer" else {
            throw unsupported("pre_tokenizer \((root["pre_tokenizer"] as? [String: Any])?["type"] ?? "none") (only BertPreTokenizer is supported)")
        }
        var specials = SpecialTokens()
        if let unk = model["unk_token"] as? String { specials.unknown = unk }
        (specials.cls, specials.sep) = try Self.framing(root["post_processor"], path: path)
        specials.literals = ((root["added_tokens"] as? [[String: Any]]) ?? []).compactMap { $0["content"] as? String }
        let lowercase = (normalizer["lowercase"] as? Bool) ?? true
        try self.init(vocabulary: pieces.map { $0! }, maxLength: maxLength, lowercase: lowercase,
                      stripAccents: normalizer["strip_accents"] as? Bool,
                      splitChineseCharacters: (normalizer["handle_chinese_chars"] as? Bool) ?? true,
                      specialTokens: specials, source: path)
    }

    /// The [CLS] and [SEP] strings a post-processor frames a single text with.
    private static func framing(_ value: Any?, path: String) throws(TextEmbedderError) -> (String, String) {
        let unsupported = TextEmbedderError.unsupported(path: path, reason: "the post_processor does not frame a text as [CLS] text [SEP]")
        guard let processor = value as? [String: Any] else { throw unsupported }
        switch processor["type"] as? String {
        case "BertProcessing":
            guard let cls = (processor["cls"] as? [Any])?.first as? String, let sep = (processor["sep"] as? [Any])?.first as? String else {
                throw unsupported
            }
            return (cls, sep)
        case "TemplateProcessing":
            // single: [SpecialToken CLS, Sequence A, SpecialToken SEP]
            guard let single = processor["single"] as? [[String: Any]], single.count == 3,
                  let cls = (single[0]["SpecialToken"] as? [String: Any])?["id"] as? String, single[1]["Sequence"] != nil,
                  let sep = (single[2]["SpecialToken"] as? [String: Any])?["id"] as? String else { throw unsupported }
            // The template names special tokens; their strings are in "special_tokens".
            let table = processor["special_tokens"] as? [String: Any]
            func text(_ name: String) -> String {
                ((table?[name] as? [String: Any])?["tokens"] as? [String])?.first ?? name
            }
            return (text(cls), text(sep))
        default:
            throw unsupported
        }
    }

    /// From vocab.txt and (optionally) tokenizer_config.json.
    public init(vocabularyDirectory directory: URL, maxLength: Int) throws(TextEmbedderError) {
        let vocabPath = directory.appendingPathComponent(Self.vocabularyFile).path
        guard let data = FileManager.default.contents(atPath: vocabPath) else {
            throw .invalidVocabulary(path: vocabPath, reason: "cannot read the file (and there is no \(Self.tokenizerFile))")
        }
        guard String(data: data, encoding: .utf8) != nil else {
            throw .invalidVocabulary(path: vocabPath, reason: "not UTF-8 text")
        }
        // Split at LF bytes (a Swift Character would fuse "\r\n"); the final LF ends the last line.
        var lines = data.split(separator: 0x0A, omittingEmptySubsequences: false).map { String(decoding: $0, as: UTF8.self) }
        if lines.last == "" { lines.removeLast() }
        let configPath = directory.appendingPathComponent("tokenizer_config.json").path
        var config: [String: Any] = [:]
        if let json = FileManager.default.contents(atPath: configPath) {
            guard let object = (try? JSONSerialization.jsonObject(with: json)) as? [String: Any] else {
                throw .invalidConfig(path: configPath, reason: "not a JSON object")
            }
            config = object
        }
        func flag(_ key: String) -> Bool? { config[key] as? Bool }
        func token(_ key: String, _ fallback: String) -> String {
            if let s = config[key] as? String { return s }
            if let d = config[key] as? [String: Any], let s = d["content"] as? String { return s } // AddedToken form
            return fallback
        }
        var specials = SpecialTokens()
        specials.cls = token("cls_token", specials.cls)
        specials.sep = token("sep_token", specials.sep)
        specials.unknown = token("unk_token", specials.unknown)
        specials.literals = [token("pad_token", "[PAD]"), specials.unknown, specials.cls, specials.sep, token("mask_token", "[MASK]")]
        try self.init(vocabulary: lines, maxLength: maxLength, lowercase: flag("do_lower_case") ?? true,
                      stripAccents: flag("strip_accents"), splitChineseCharacters: flag("tokenize_chinese_chars") ?? true,
                      specialTokens: specials, source: vocabPath)
    }
}
