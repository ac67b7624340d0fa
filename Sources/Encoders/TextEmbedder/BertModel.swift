// A BERT encoder (Devlin et al. 2018; transformers' BertModel) on the Sightline kernel pool,
// loaded from a Hugging Face checkpoint directory: config.json + model.safetensors (or
// shards). Reads top to bottom: blueprint (BertConfig), weights (named after the checkpoint
// tensors), scratch, forward pass.
//
//   ids → word + position + token-type-0 embeddings → LayerNorm → (tokens, d)
//   each layer, post-norm:  x = LN(x + Wo·SelfAttention(x));  x = LN(x + W2·act(W1·x))
//
// Batches are ragged: the sequences' tokens are stacked without padding, every row-wise
// step (linears, norms, activation) runs once over all of them, and attention runs per
// sequence over its own tokens only. That equals the reference's pad-to-longest batch with
// an attention mask (the mask gives padded keys a weight of exactly zero, and padded query
// rows are never pooled) without computing the padding. Activations are Float32.
import Foundation
import Kernels
import ModelIO

/// The blueprint, from config.json.
public struct BertConfig: Sendable, Equatable {
    public var hiddenSize: Int            // hidden_size (d)
    public var layers: Int                // num_hidden_layers
    public var heads: Int                 // num_attention_heads
    public var intermediateSize: Int      // intermediate_size
    public var maxPositions: Int          // max_position_embeddings
    public var vocabularySize: Int        // vocab_size
    public var typeVocabularySize: Int    // type_vocab_size
    public var layerNormEps: Float        // layer_norm_eps
    public var activation: Activation     // hidden_act
    public var headDim: Int { hiddenSize / heads }

    /// Reads a transformers BERT config.json.
    public init(path: String) throws(TextEmbedderError) {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw .invalidConfig(path: path, reason: "cannot read the file")
        }
        guard let json = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
            throw .invalidConfig(path: path, reason: "not a JSON object")
        }
        func int(_ key: String, default fallback: Int? = nil) throws(TextEmbedderError) -> Int {
            if let n = json[key] as? NSNumber, let v = Int(exactly: n.doubleValue), v > 0, v <= 1 << 24 { return v }
            if json[key] == nil, let fallback { return fallback }
            throw .invalidConfig(path: path, reason: "\"\(key)\" must be a positive integer, found \(json[key].map { "\($0)" } ?? "nothing")")
        }
        if let type = json["model_type"] as? String, type != "bert" {
            throw .unsupported(path: path, reason: "model_type \"\(type)\" is not a BERT encoder")
        }
        hiddenSize = try int("hidden_size")
        layers = try int("num_hidden_layers")
        heads = try int("num_attention_heads")
        intermediateSize = try int("intermediate_size")
        maxPositions = try int("max_position_embeddings", default: 512)
        vocabularySize = try int("vocab_size")
        typeVocabularySize = try int("type_vocab_size", default: 2)
        let eps = (json["layer_norm_eps"] as? NSNumber)?.doubleValue ?? 1e-12
        guard eps > 0, eps < 1 else { throw .invalidConfig(path: path, reason: "layer_norm_eps \(eps) is not in (0, 1)") }
        layerNormEps = Float(eps)
        switch (json["hidden_act"] as? String) ?? "gelu" {
        case "gelu": activation = .geluErf
        case "gelu_new", "gelu_pytorch_tanh": activation = .geluTanh
        case "relu": activation = .relu
        case let other: throw .unsupported(path: path, reason: "hidden_act \"\(other)\" is not supported (gelu, gelu_new, relu are)")
        }
        if let position = json["position_embedding_type"] as? String, position != "absolute" {
            throw .unsupported(path: path, reason: "position_embedding_type \"\(position)\" is not supported (absolute is)")
        }
        guard hiddenSize % heads == 0 else {
            throw .invalidConfig(path: path, reason: "hidden_size \(hiddenSize) is not a multiple of num_attention_heads \(heads)")
        }
    }
}

/// One encoder layer's weights, named after the checkpoint's `encoder.layer.N.*` tensors.
final class BertLayer: @unchecked Sendable { // immutable after init
    // attention.self.{query,key,value}.{weight,bias}: three (d, d) linears stacked row-wise into one (3d, d)
    let attentionSelfQKV: PackedLinear
    let attentionOutputDense: PackedLinear                         // attention.output.dense (d, d)
    let attentionOutputLayerNormWeight: [Float], attentionOutputLayerNormBias: [Float] // attention.output.LayerNorm (d)
    let intermediateDense: PackedLinear                            // intermediate.dense (ffn, d)
    let outputDense: PackedLinear                                  // output.dense (d, ffn)
    let outputLayerNormWeight: [Float], outputLayerNormBias: [Float] // output.LayerNorm (d)

    init(_ file: any TensorFile, prefix p: String, config c: BertConfig) throws(ModelLoadError) {
        let d = c.hiddenSize, ffn = c.intermediateSize
        func floats(_ name: String, _ shape: [Int]) throws(ModelLoadError) -> [Float] { try file.floats(p + name, shape: shape) }
        func linear(_ name: String, out: Int, in i: Int) throws(ModelLoadError) -> PackedLinear {
            try Self.pack(file.path, p + name, weight: floats("\(name).weight", [out, i]), bias: floats("\(name).bias", [out]), out: out, in: i)
        }
        let q = try floats("attention.self.query.weight", [d, d]), k = try floats("attention.self.key.weight", [d, d])
        let v = try floats("attention.self.value.weight", [d, d])
        let bias = try floats("attention.self.query.bias", [d]) + floats("attention.self.key.bias", [d]) + floats("attention.self.value.bias", [d])
        attentionSelfQKV = try Self.pack(file.path, p + "attention.self.query|key|value", weight: q + k + v, bias: bias, out: 3 * d, in: d)
        attentionOutputDense = try linear("attention.output.dense", out: d, in: d)
        attentionOutputLayerNormWeight = try floats("attention.output.LayerNorm.weight", [d])
        attentionOutputLayerNormBias = try floats("attention.output.LayerNorm.bias", [d])
        intermediateDense = try linear("intermediate.dense", out: ffn, in: d)
        outputDense = try linear("output.dense", out: d, in: ffn)
        outputLayerNormWeight = try floats("output.LayerNorm.weight", [d])
        outputLayerNormBias = try floats("output.LayerNorm.bias", [d])
    }

    private static func pack(_ path: String, _ name: String, weight: [Float], bias: [Float], out: Int, in i: Int) throws(ModelLoadError) -> PackedLinear {
        do {
            return try PackedLinear(weight: weight, outFeatures: out, inFeatures: i, bias: bias)
        } catch {
            throw .unexpectedShape(path: path, name: name, expected: "(\(out), \(i))", found: [weight.count])
        }
    }
}

/// Activations for up to `rows` stacked tokens, allocated once and grown on demand.
final class BertScratch {
    private(set) var rows = 0
    private let d: Int, ffn: Int
    private(set) var x: UnsafeMutablePointer<Float>   // (rows, d) the residual stream
    private(set) var h: UnsafeMutablePointer<Float>   // (rows, d) attention context, sublayer outputs
    private(set) var qkv: UnsafeMutablePointer<Float> // (rows, 3d) token-major [query | key | value]
    private(set) var ffnBuffer: UnsafeMutablePointer<Float> // (rows, ffn)

    init(config: BertConfig) {
        d = config.hiddenSize; ffn = config.intermediateSize
        x = .allocate(capacity: 1); h = .allocate(capacity: 1); qkv = .allocate(capacity: 1); ffnBuffer = .allocate(capacity: 1)
    }

    func reserve(rows wanted: Int) {
        guard wanted > rows else { return }
        for p in [x, h, qkv, ffnBuffer] { p.deallocate() }
        x = .allocate(capacity: wanted * d)
        h = .allocate(capacity: wanted * d)
        qkv = .allocate(capacity: wanted * 3 * d)
        ffnBuffer = .allocate(capacity: wanted * ffn)
        rows = wanted
    }

    deinit { for p in [x, h, qkv, ffnBuffer] { p.deallocate() } }
}

public final class BertModel: @unchecked Sendable { // weights immutable after init; forward needs its own scratch
    public let config: BertConfig
    public let pool: ThreadPool
    let embeddingsWordEmbeddings: [Float]      // embeddings.word_embeddings.weight (vocab, d)
    let embeddingsPositionEmbeddings: [Float]  // embeddings.position_embeddings.weight (maxPositions, d)
    let embeddingsTokenType0: [Float]          // embeddings.token_type_embeddings.weight row 0 (d): single-segment input
    let embeddingsLayerNormWeight: [Float], embeddingsLayerNormBias: [Float] // embeddings.LayerNorm (d)
    let layers: [BertLayer]                    // encoder.layer.N

    /// Loads config.json and the safetensors weights of `directory`. Tensor names may carry
    /// a "bert." prefix (a checkpoint saved from a task model, e.g. BertForMaskedLM).
    public init(directory: URL, pool: ThreadPool = .shared) throws(TextEmbedderError) {
        let c = try BertConfig(path: directory.appendingPathComponent("config.json").path)
        config = c
        self.pool = pool
        let d = c.hiddenSize
        do {
            let file = try SafeTensorsCheckpoint(directory: directory)
            let p = file.contains("bert.embeddings.word_embeddings.weight") ? "bert." : ""
            embeddingsWordEmbeddings = try file.floats(p + "embeddings.word_embeddings.weight", shape: [c.vocabularySize, d])
            embeddingsPositionEmbeddings = try file.floats(p + "embeddings.position_embeddings.weight", shape: [c.maxPositions, d])
            embeddingsTokenType0 = Array(try file.floats(p + "embeddings.token_type_embeddings.weight", shape: [c.typeVocabularySize, d]).prefix(d))
            embeddingsLayerNormWeight = try file.floats(p + "embeddings.LayerNorm.weight", shape: [d])
            embeddingsLayerNormBias = try file.floats(p + "embeddings.LayerNorm.bias", shape: [d])
            var layers: [BertLayer] = []
            for l in 0..<c.layers { layers.append(try BertLayer(file, prefix: "\(p)encoder.layer.\(l).", config: c)) }
            self.layers = layers
        } catch {
            throw .model(error)
        }
    }

    /// Runs the stacked sequences through the encoder. `ids` holds every sequence's ids one
    /// after another, `lengths` their lengths (each 1...maxPositions, ids < vocabularySize);
    /// on return scratch.x (sum of lengths, d) holds the last hidden states.
    func forward(ids: [Int32], lengths: [Int], scratch: BertScratch) {
        let c = config, d = c.hiddenSize, rows = ids.count, heads = c.heads, hd = c.headDim
        precondition(lengths.reduce(0, +) == rows && lengths.allSatisfy { $0 >= 1 && $0 <= c.maxPositions },
                     "BertModel.forward: lengths \(lengths) do not tile \(rows) ids within \(c.maxPositions) positions")
        scratch.reserve(rows: rows)
        let x = scratch.x, h = scratch.h, qkv = scratch.qkv, f = scratch.ffnBuffer

        // Embeddings: word + position (restarting at 0 per sequence) + token type 0.
        embeddingsWordEmbeddings.withUnsafeBufferPointer { word in
            embeddingsPositionEmbeddings.withUnsafeBufferPointer { position in
                embeddingsTokenType0.withUnsafeBufferPointer { type0 in
                    var r = 0
                    for n in lengths {
                        for t in 0..<n {
                            let id = Int(ids[r])
                            precondition(id >= 0 && id < c.vocabularySize, "BertModel.forward: id \(id) outside the vocabulary")
                            let row = x + r * d, w = word.baseAddress! + id * d, p = position.baseAddress! + t * d
                            for j in 0..<d { row[j] = w[j] + p[j] + type0[j] }
                            r += 1
                        }
                    }
                }
            }
        }
        layerNorm(x, rows: rows, cols: d, gamma: embeddingsLayerNormWeight, beta: embeddingsLayerNormBias, eps: c.layerNormEps, out: x, pool: pool)

        let qkvLayout = HeadLayout(headStride: hd, rowStride: 3 * d)
        for layer in layers {
            // Self-attention, each sequence over its own tokens.
            layer.attentionSelfQKV.forward(x, rows: rows, into: qkv, pool: pool)
            var start = 0
            for n in lengths {
                let base = qkv + start * 3 * d
                attention(q: base, qLayout: qkvLayout, k: base + d, kLayout: qkvLayout, v: base + 2 * d, vLayout: qkvLayout,
                          heads: heads, tq: n, tk: n, headDim: hd, output: h + start * d,
                          outputLayout: .tokenMajor(heads: heads, headDim: hd), pool: pool)
                start += n
            }
            layer.attentionOutputDense.forward(h, rows: rows, into: qkv, pool: pool) // (rows, d) in qkv's first columns' storage
            add(x, qkv, count: rows * d, into: x)
            layerNorm(x, rows: rows, cols: d, gamma: layer.attentionOutputLayerNormWeight, beta: layer.attentionOutputLayerNormBias,
                      eps: c.layerNormEps, out: x, pool: pool)
            // Feed-forward.
            layer.intermediateDense.forward(x, rows: rows, into: f, pool: pool)
            c.activation.apply(f, count: rows * c.intermediateSize, into: f, pool: pool)
            layer.outputDense.forward(f, rows: rows, into: h, pool: pool)
            add(x, h, count: rows * d, into: x)
            layerNorm(x, rows: rows, cols: d, gamma: layer.outputLayerNormWeight, beta: layer.outputLayerNormBias,
                      eps: c.layerNormEps, out: x, pool: pool)
        }
    }
}
