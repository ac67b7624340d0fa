// Sentence embeddings as sentence-transformers computes them for all-MiniLM-L6-v2 and other
// BERT-style checkpoints: WordPiece ids → BERT encoder → mean of the last hidden states over
// each text's tokens ([CLS] and [SEP] included) → L2-normalised (dimension = hidden_size,
// 384 for MiniLM-L6). The directory is a sentence-transformers model folder:
//   config.json, model.safetensors (or sharded), vocab.txt      required
//   tokenizer_config.json        lower case, accents, CJK splitting, special tokens
//   sentence_bert_config.json    max_seq_length (ids per text incl. [CLS]/[SEP]; longer
//                                texts are truncated), else tokenizer_config's
//                                model_max_length, capped by max_position_embeddings
//   1_Pooling/config.json        mean (default) or [CLS] pooling
// Vectors are always L2-normalised: they feed cosine search, and for models whose
// sentence-transformers pipeline ends in Normalize (this one) that is what it returns.
import Foundation
import Kernels
import ModelIO

public final class TextEmbedder: @unchecked Sendable { // embed() serialises on `lock`
    public enum Pooling: Sendable, Equatable { case mean, cls }

    /// Tokens pushed through the encoder in one pass; a larger batch is split into passes,
    /// so scratch memory stays bounded (≈ 14 KiB per token for MiniLM-L6) whatever the batch.
    public static let maxTokensPerPass = 4096

    public let directory: URL
    public let tokenizer: WordPieceTokenizer
    public let model: BertModel
    public let pooling: Pooling
    /// Length of every embedding.
    public var dimension: Int { model.config.hiddenSize }

    private let lock = NSLock()
    private let scratch: BertScratch

    public init(directory: URL, pool: ThreadPool = .shared) throws(TextEmbedderError) {
        self.directory = directory
        model = try BertModel(directory: directory, pool: pool)
        let positions = model.config.maxPositions
        let maxLength = min(positions, try Self.maxSequenceLength(directory: directory) ?? positions)
        tokenizer = try WordPieceTokenizer(directory: directory, maxLength: maxLength)
        guard tokenizer.vocabularySize <= model.config.vocabularySize else {
            throw .invalidVocabulary(path: directory.appendingPathComponent("vocab.txt").path,
                                     reason: "\(tokenizer.vocabularySize) pieces for a model with vocab_size \(model.config.vocabularySize)")
        }
        pooling = try Self.pooling(directory: directory)
        scratch = BertScratch(config: model.config)
    }

    /// One unit vector (dimension) per text, in order. Any string is valid input: an empty
    /// one embeds [CLS] [SEP]; text beyond the maximum length is ignored.
    public func embed(_ texts: [String]) -> [[Float]] {
        let sequences = texts.map(tokenizer.encode)
        lock.lock()
        defer { lock.unlock() }
        var result: [[Float]] = []
        result.reserveCapacity(texts.count)
        var i = 0
        while i < sequences.count {
            // One pass: as many whole sequences as fit in maxTokensPerPass (at least one).
            var ids: [Int32] = [], lengths: [Int] = []
            while i < sequences.count, lengths.isEmpty || ids.count + sequences[i].count <= Self.maxTokensPerPass {
                ids += sequences[i]
                lengths.append(sequences[i].count)
                i += 1
            }
            model.forward(ids: ids, lengths: lengths, scratch: scratch)
            var start = 0
            for n in lengths {
                result.append(pooled(scratch.x + start * dimension, tokens: n))
                start += n
            }
        }
        return result
    }

    /// The embedding of one text.
    public func embed(_ text: String) -> [Float] { embed([text])[0] }

    /// Pools one sequence's hidden states (tokens, d) and L2-normalises the result.
    private func pooled(_ hidden: UnsafePointer<Float>, tokens n: Int) -> [Float] {
        let d = dimension
        var v = [Float](repeating: 0, count: d)
        switch pooling {
        case .cls:
            for j in 0..<d { v[j] = hidden[j] }
        case .mean:
            // Summed in Double: up to 512 rows, and the reference sums in float32 with a
            // different order anyway; this keeps our side's rounding negligible.
            var acc = [Double](repeating: 0, count: d)
            for t in 0..<n {
                let row = hidden + t * d
                for j in 0..<d { acc[j] += Double(row[j]) }
            }
            for j in 0..<d { v[j] = Float(acc[j] / Double(n)) }
        }
        var norm: Double = 0
        for j in 0..<d { norm += Double(v[j]) * Double(v[j]) }
        // F.normalize's eps: a zero vector stays zero instead of becoming NaN.
        let inv = Float(1 / max(norm.squareRoot(), 1e-12))
        for j in 0..<d { v[j] *= inv }
        return v
    }

    // MARK: - Directory metadata

    private static func jsonObject(_ url: URL) throws(TextEmbedderError) -> [String: Any]? {
        guard let data = FileManager.default.contents(atPath: url.path) else { return nil }
        guard let object = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
            throw .invalidConfig(path: url.path, reason: "not a JSON object")
        }
        return object
    }

    /// sentence_bert_config.json's max_seq_length, else tokenizer_config.json's model_max_length.
    static func maxSequenceLength(directory: URL) throws(TextEmbedderError) -> Int? {
        for (file, key) in [("sentence_bert_config.json", "max_seq_length"), ("tokenizer_config.json", "model_max_length")] {
            let url = directory.appendingPathComponent(file)
            guard let json = try jsonObject(url), let value = json[key] else { continue }
            // transformers writes a huge sentinel model_max_length when the model sets none.
            guard let n = value as? NSNumber, let length = Int(exactly: n.doubleValue), length >= 2 else {
                throw .invalidConfig(path: url.path, reason: "\"\(key)\" must be an integer >= 2, found \(value)")
            }
            if length < 1 << 20 { return length }
        }
        return nil
    }

    /// 1_Pooling/config.json in either form sentence-transformers writes: one boolean per
    /// mode (`pooling_mode_mean_tokens: true`, older) or `pooling_mode: "mean"` (newer).
    static func pooling(directory: URL) throws(TextEmbedderError) -> Pooling {
        let url = directory.appendingPathComponent("1_Pooling/config.json")
        guard let json = try jsonObject(url) else { return .mean }
        var modes: [String]
        if let mode = json["pooling_mode"] as? String {
            modes = [mode]
        } else {
            let flags = ["pooling_mode_mean_tokens": "mean", "pooling_mode_cls_token": "cls", "pooling_mode_max_tokens": "max",
                         "pooling_mode_mean_sqrt_len_tokens": "mean_sqrt_len_tokens", "pooling_mode_weightedmean_tokens": "weightedmean",
                         "pooling_mode_lasttoken": "lasttoken"]
            modes = flags.filter { (json[$0.key] as? Bool) == true }.map(\.value).sorted()
        }
        switch modes {
        case ["mean"]: return .mean
        case ["cls"]: return .cls
        default: throw .unsupported(path: url.path, reason: "pooling \(modes) is not supported (mean or cls alone are)")
        }
    }
}
