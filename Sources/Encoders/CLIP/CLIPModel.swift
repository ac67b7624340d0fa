// CLIP (Radford et al. 2021; transformers' CLIPModel) on the Sightline kernel pool: an image
// tower and a text tower whose outputs, projected and L2-normalised, live in one space, so a
// frame and a sentence compare by a dot product. Loaded from a Hugging Face checkpoint
// directory (config.json, model.safetensors or shards, tokenizer.json, and optionally
// preprocessor_config.json); ViT-B/32 is the model it is built for. Reads top to bottom:
// weights (named after the checkpoint tensors), scratch, the shared transformer, the towers.
//
//   image (H, W, 3) bytes → CLIPImagePreprocessing → (3, S, S) → 32×32 patches as one GEMM
//     (patches, 3·P·P)·Wᵀ → [class; patches] + positions → pre_layrnorm → encoder
//     → post_layernorm(class row) → visual_projection → L2 norm        (projection_dim)
//   text → CLIPTokenizer → ids (≤ 77) → token + position embeddings → causal encoder
//     → final_layer_norm(row of <|endoftext|>) → text_projection → L2 norm (projection_dim)
//   each encoder layer, pre-norm: x += Wo·SelfAttention(LN1(x)); x += fc2(act(fc1(LN2(x))))
//
// Batches are ragged: sequences (or pictures) are stacked without padding, row-wise steps run
// once over all rows and attention runs per sequence over its own rows. For text that equals
// the reference's padded batch: the causal mask already hides every later position from the
// pooled <|endoftext|> row. Activations are Float32.
import Foundation
import ImageOps
import Kernels
import ModelIO

/// One encoder layer's weights, named after the checkpoint's `*.encoder.layers.N.*` tensors.
final class CLIPEncoderLayer: @unchecked Sendable { // immutable after init
    let layerNorm1Weight: [Float], layerNorm1Bias: [Float]    // layer_norm1 (d)
    // self_attn.{q,k,v}_proj.{weight,bias}: three (d, d) linears stacked row-wise into one (3d, d)
    let selfAttnQKV: PackedLinear
    let selfAttnOutProj: PackedLinear                         // self_attn.out_proj (d, d)
    let layerNorm2Weight: [Float], layerNorm2Bias: [Float]    // layer_norm2 (d)
    let mlpFc1: PackedLinear                                  // mlp.fc1 (ffn, d)
    let mlpFc2: PackedLinear                                  // mlp.fc2 (d, ffn)

    init(_ file: any TensorFile, prefix p: String, config c: CLIPEncoderConfig) throws(ModelLoadError) {
        let d = c.hiddenSize, ffn = c.intermediateSize
        func floats(_ name: String, _ shape: [Int]) throws(ModelLoadError) -> [Float] { try file.floats(p + name, shape: shape) }
        layerNorm1Weight = try floats("layer_norm1.weight", [d])
        layerNorm1Bias = try floats("layer_norm1.bias", [d])
        let qkv = try floats("self_attn.q_proj.weight", [d, d]) + floats("self_attn.k_proj.weight", [d, d]) + floats("self_attn.v_proj.weight", [d, d])
        let qkvBias = try floats("self_attn.q_proj.bias", [d]) + floats("self_attn.k_proj.bias", [d]) + floats("self_attn.v_proj.bias", [d])
        selfAttnQKV = try CLIPModel.pack(file.path, p + "self_attn.q|k|v_proj", weight: qkv, bias: qkvBias, out: 3 * d, in: d)
        selfAttnOutProj = try CLIPModel.pack(file.path, p + "self_attn.out_proj", weight: floats("self_attn.out_proj.weight", [d, d]),
                                             bias: floats("self_attn.out_proj.bias", [d]), out: d, in: d)
        layerNorm2Weight = try floats("layer_norm2.weight", [d])
        layerNorm2Bias = try floats("layer_norm2.bias", [d])
        mlpFc1 = try CLIPModel.pack(file.path, p + "mlp.fc1", weight: floats("mlp.fc1.weight", [ffn, d]), bias: floats("mlp.fc1.bias", [ffn]),
                                    out: ffn, in: d)
        mlpFc2 = try CLIPModel.pack(file.path, p + "mlp.fc2", weight: floats("mlp.fc2.weight", [d, ffn]), bias: floats("mlp.fc2.bias", [d]),
                                    out: d, in: ffn)
    }
}

/// Activations of one tower for up to `rows` stacked rows, allocated once and grown on demand.
final class CLIPScratch {
    private(set) var rows = 0
    private let d: Int, ffn: Int, extra: Int
    private(set) var x: UnsafeMutablePointer<Float>     // (rows, d) the residual stream
    private(set) var h: UnsafeMutablePointer<Float>     // (rows, d) normed input, attention context, sublayer output
    private(set) var qkv: UnsafeMutablePointer<Float>   // (rows, 3d) token-major [query | key | value]
    private(set) var f: UnsafeMutablePointer<Float>     // (rows, ffn) feed-forward hidden
    private(set) var g: UnsafeMutablePointer<Float>     // (rows, max(ffn, extra)) quick-GELU gate; the image patches
    private var buffers: [UnsafeMutablePointer<Float>] { [x, h, qkv, f, g] }

    /// `extra`: floats per row the caller also needs in `g` (the image tower's patch rows).
    init(config: CLIPEncoderConfig, extra: Int = 0) {
        d = config.hiddenSize; ffn = config.intermediateSize; self.extra = extra
        x = .allocate(capacity: 1); h = .allocate(capacity: 1); qkv = .allocate(capacity: 1)
        f = .allocate(capacity: 1); g = .allocate(capacity: 1)
    }

    func reserve(rows wanted: Int) {
        guard wanted > rows else { return }
        for p in buffers { p.deallocate() }
        x = .allocate(capacity: wanted * d)
        h = .allocate(capacity: wanted * d)
        qkv = .allocate(capacity: wanted * 3 * d)
        f = .allocate(capacity: wanted * ffn)
        g = .allocate(capacity: wanted * max(ffn, extra))
        rows = wanted
    }

    deinit { for p in buffers { p.deallocate() } }
}

/// The transformer both towers run: `*.encoder.layers.N`.
struct CLIPEncoder: @unchecked Sendable { // immutable after init
    static let quickGeluScale: Float = 1.702

    let config: CLIPEncoderConfig
    let layers: [CLIPEncoderLayer]

    init(_ file: any TensorFile, prefix: String, config: CLIPEncoderConfig) throws(ModelLoadError) {
        self.config = config
        var layers: [CLIPEncoderLayer] = []
        for l in 0..<config.layers { layers.append(try CLIPEncoderLayer(file, prefix: "\(prefix)encoder.layers.\(l).", config: config)) }
        self.layers = layers
    }

    /// Runs scratch.x (sum of lengths, d) through every layer in place; each sequence of
    /// `lengths` attends over its own rows (causally for text).
    func forward(lengths: [Int], causal: Bool, scratch s: CLIPScratch, pool: ThreadPool) {
        let c = config, d = c.hiddenSize, rows = lengths.reduce(0, +), heads = c.heads, hd = c.headDim
        let x = s.x, h = s.h, qkv = s.qkv, f = s.f, g = s.g
        let qkvLayout = HeadLayout(headStride: hd, rowStride: 3 * d)
        for layer in layers {
            // x += out_proj(attention(LN1(x)))
            layerNorm(x, rows: rows, cols: d, gamma: layer.layerNorm1Weight, beta: layer.layerNorm1Bias, eps: c.layerNormEps, out: h, pool: pool)
            layer.selfAttnQKV.forward(h, rows: rows, into: qkv, pool: pool)
            var start = 0
            for n in lengths {
                let base = qkv + start * 3 * d
                attention(q: base, qLayout: qkvLayout, k: base + d, kLayout: qkvLayout, v: base + 2 * d, vLayout: qkvLayout,
                          heads: heads, tq: n, tk: n, headDim: hd, causal: causal, output: h + start * d,
                          outputLayout: .tokenMajor(heads: heads, headDim: hd), pool: pool)
                start += n
            }
            layer.selfAttnOutProj.forward(h, rows: rows, into: qkv, pool: pool) // (rows, d) in qkv's storage
            add(x, qkv, count: rows * d, into: x)
            // x += fc2(act(fc1(LN2(x))))
            layerNorm(x, rows: rows, cols: d, gamma: layer.layerNorm2Weight, beta: layer.layerNorm2Bias, eps: c.layerNormEps, out: h, pool: pool)
            layer.mlpFc1.forward(h, rows: rows, into: f, pool: pool)
            let count = rows * c.intermediateSize
            switch c.activation {
            case .quickGelu: // f · sigmoid(1.702 f)
                for i in 0..<count { g[i] = Self.quickGeluScale * f[i] }
                Activation.sigmoid.apply(g, count: count, into: g, pool: pool)
                mul(f, g, count: count, into: f)
            case .gelu: Activation.geluErf.apply(f, count: count, into: f, pool: pool)
            case .geluTanh: Activation.geluTanh.apply(f, count: count, into: f, pool: pool)
            }
            layer.mlpFc2.forward(f, rows: rows, into: h, pool: pool)
            add(x, h, count: rows * d, into: x)
        }
    }
}

public final class CLIPModel: @unchecked Sendable { // weights immutable after init; embed() serialises on `lock`
    /// Pictures pushed through the image tower in one pass (50 rows each for ViT-B/32).
    public static let maxImagesPerPass = 16
    /// Texts per pass through the text tower (≤ 77 rows each).
    public static let maxTextsPerPass = 64

    public let directory: URL
    public let config: CLIPConfig
    public let tokenizer: CLIPTokenizer
    public let pool: ThreadPool
    /// exp(logit_scale): the factor transformers puts on cosine similarities (100 for
    /// OpenAI's checkpoints); 1 when the checkpoint has no logit_scale.
    public let logitScale: Float
    /// Length of every embedding.
    public var dimension: Int { config.projectionDim }

    // Text tower, `text_model.*`
    let textEmbeddingsTokenEmbedding: [Float]     // embeddings.token_embedding.weight (vocab, dt)
    let textEmbeddingsPositionEmbedding: [Float]  // embeddings.position_embedding.weight (maxPositions, dt)
    let textEncoder: CLIPEncoder                  // encoder.layers.N
    let textFinalLayerNormWeight: [Float], textFinalLayerNormBias: [Float] // final_layer_norm (dt)
    let textProjection: PackedLinear              // text_projection.weight (projection, dt), no bias
    // Image tower, `vision_model.*`
    let visionEmbeddingsClassEmbedding: [Float]   // embeddings.class_embedding (dv)
    let visionEmbeddingsPatchEmbedding: PackedLinear // embeddings.patch_embedding.weight (dv, 3, P, P) as (dv, 3·P·P), no bias
    let visionEmbeddingsPositionEmbedding: [Float] // embeddings.position_embedding.weight (patches + 1, dv)
    let visionPreLayrnormWeight: [Float], visionPreLayrnormBias: [Float]   // pre_layrnorm (dv), the checkpoint's spelling
    let visionEncoder: CLIPEncoder                // encoder.layers.N
    let visionPostLayernormWeight: [Float], visionPostLayernormBias: [Float] // post_layernorm (dv)
    let visualProjection: PackedLinear            // visual_projection.weight (projection, dv), no bias

    private let lock = NSLock()
    private let textScratch: CLIPScratch
    private let visionScratch: CLIPScratch

    /// Loads config.json, preprocessor_config.json (if any), tokenizer.json and the weights.
    public init(directory: URL, pool: ThreadPool = .shared) throws(CLIPError) {
        self.directory = directory
        self.pool = pool
        let c = try CLIPConfig(directory: directory)
        config = c
        tokenizer = try CLIPTokenizer(path: directory.appendingPathComponent(CLIPTokenizer.fileName).path, maxLength: c.text.maxPositions)
        guard tokenizer.vocabularySize <= c.text.vocabularySize else {
            throw .invalidTokenizer(path: directory.appendingPathComponent(CLIPTokenizer.fileName).path,
                                    reason: "ids up to \(tokenizer.vocabularySize - 1) for a model with vocab_size \(c.text.vocabularySize)")
        }
        // Pooling looks for <|endoftext|> by the config's id; one the tokenizer never emits
        // would pool every text at its first token (what transformers then does), silently.
        guard c.text.pooledAtArgmax || Int(tokenizer.eos) == c.text.eosTokenId else {
            throw .invalidConfig(path: directory.appendingPathComponent(CLIPConfig.configFile).path,
                                 reason: "text_config.eos_token_id \(c.text.eosTokenId) is not the tokenizer's \(CLIPTokenizer.endOfText) id \(tokenizer.eos)")
        }
        guard SafeTensorsCheckpoint.exists(in: directory) else {
            throw .missingFile(path: directory.appendingPathComponent(SafeTensorsCheckpoint.singleFile).path)
        }
        let t = c.text, v = c.vision, dt = t.encoder.hiddenSize, dv = v.encoder.hiddenSize, p = v.patchSize
        do {
            let file = try SafeTensorsCheckpoint(directory: directory)
            textEmbeddingsTokenEmbedding = try file.floats("text_model.embeddings.token_embedding.weight", shape: [t.vocabularySize, dt])
            textEmbeddingsPositionEmbedding = try file.floats("text_model.embeddings.position_embedding.weight", shape: [t.maxPositions, dt])
            textEncoder = try CLIPEncoder(file, prefix: "text_model.", config: t.encoder)
            textFinalLayerNormWeight = try file.floats("text_model.final_layer_norm.weight", shape: [dt])
            textFinalLayerNormBias = try file.floats("text_model.final_layer_norm.bias", shape: [dt])
            textProjection = try Self.pack(file.path, "text_projection.weight",
                                           weight: file.floats("text_projection.weight", shape: [c.projectionDim, dt]), out: c.projectionDim, in: dt)
            visionEmbeddingsClassEmbedding = try file.floats("vision_model.embeddings.class_embedding", shape: [dv])
            visionEmbeddingsPatchEmbedding = try Self.pack(
                file.path, "vision_model.embeddings.patch_embedding.weight",
                weight: file.floats("vision_model.embeddings.patch_embedding.weight", shape: [dv, v.channels, p, p]), out: dv, in: v.channels * p * p)
            visionEmbeddingsPositionEmbedding = try file.floats("vision_model.embeddings.position_embedding.weight", shape: [v.positions, dv])
            visionPreLayrnormWeight = try file.floats("vision_model.pre_layrnorm.weight", shape: [dv])
            visionPreLayrnormBias = try file.floats("vision_model.pre_layrnorm.bias", shape: [dv])
            visionEncoder = try CLIPEncoder(file, prefix: "vision_model.", config: v.encoder)
            visionPostLayernormWeight = try file.floats("vision_model.post_layernorm.weight", shape: [dv])
            visionPostLayernormBias = try file.floats("vision_model.post_layernorm.bias", shape: [dv])
            visualProjection = try Self.pack(file.path, "visual_projection.weight",
                                             weight: file.floats("visual_projection.weight", shape: [c.projectionDim, dv]), out: c.projectionDim, in: dv)
            if file.contains("logit_scale") {
                let scale = try file.floats("logit_scale", shape: file.shape(of: "logit_scale") == [] ? [] : [1])
                logitScale = Foundation.exp(scale.first ?? 0)
            } else {
                logitScale = 1
            }
        } catch {
            throw .model(error)
        }
        textScratch = CLIPScratch(config: t.encoder)
        visionScratch = CLIPScratch(config: v.encoder, extra: v.channels * p * p)
    }

    static func pack(_ path: String, _ name: String, weight: [Float], bias: [Float]? = nil, out: Int, in i: Int) throws(ModelLoadError) -> PackedLinear {
        do {
            return try PackedLinear(weight: weight, outFeatures: out, inFeatures: i, bias: bias)
        } catch {
            throw .unexpectedShape(path: path, name: name, expected: "(\(out), \(i))", found: [weight.count])
        }
    }

    // MARK: - Text

    /// The unit-length embedding of one text (any string; beyond 75 tokens it is cut).
    public func embed(text: String) -> [Float] { embed(texts: [text])[0] }

    /// One unit vector (dimension) per text, in order.
    public func embed(texts: [String]) -> [[Float]] {
        let sequences = texts.map(tokenizer.encode)
        lock.lock()
        defer { lock.unlock() }
        var out: [[Float]] = []
        out.reserveCapacity(texts.count)
        for start in stride(from: 0, to: sequences.count, by: Self.maxTextsPerPass) {
            out += textForward(Array(sequences[start..<min(start + Self.maxTextsPerPass, sequences.count)]))
        }
        return out
    }

    /// Token ids (each sequence 2...maxPositions long, ids < vocab) → unit embeddings.
    func textForward(_ sequences: [[Int32]]) -> [[Float]] {
        let t = config.text, d = t.encoder.hiddenSize, lengths = sequences.map(\.count), rows = lengths.reduce(0, +)
        precondition(lengths.allSatisfy { $0 >= 1 && $0 <= t.maxPositions }, "CLIPModel: sequence lengths \(lengths) outside 1...\(t.maxPositions)")
        let s = textScratch
        s.reserve(rows: rows)
        // x (rows, d) = token + position embeddings, positions restarting at 0 per sequence.
        var pooledRows: [Int] = []
        textEmbeddingsTokenEmbedding.withUnsafeBufferPointer { token in
            textEmbeddingsPositionEmbedding.withUnsafeBufferPointer { position in
                var r = 0
                for ids in sequences {
                    for (i, id) in ids.enumerated() {
                        precondition(id >= 0 && Int(id) < t.vocabularySize, "CLIPModel: id \(id) outside the vocabulary")
                        let row = s.x + (r + i) * d, e = token.baseAddress! + Int(id) * d, p = position.baseAddress! + i * d
                        for j in 0..<d { row[j] = e[j] + p[j] }
                    }
                    pooledRows.append(r + Self.pooledIndex(ids, config: t))
                    r += ids.count
                }
            }
        }
        textEncoder.forward(lengths: lengths, causal: true, scratch: s, pool: pool)
        return project(rows: pooledRows, of: s.x, width: d, gamma: textFinalLayerNormWeight, beta: textFinalLayerNormBias,
                       eps: t.encoder.layerNormEps, projection: textProjection)
    }

    /// Where transformers pools a sequence: the highest id (original configs) or the first
    /// <|endoftext|>; the last row if neither is found.
    static func pooledIndex(_ ids: [Int32], config t: CLIPTextConfig) -> Int {
        if t.pooledAtArgmax {
            var best = 0
            for i in ids.indices where ids[i] > ids[best] { best = i }
            return best
        }
        return ids.firstIndex(of: Int32(t.eosTokenId)) ?? ids.count - 1
    }

    // MARK: - Images

    /// The unit-length embedding of one picture.
    public func embed(image: RGBImage) throws(CLIPError) -> [Float] { try embed(images: [image])[0] }

    /// One unit vector (dimension) per picture, in order.
    public func embed(images: [RGBImage]) throws(CLIPError) -> [[Float]] {
        let settings = config.image, plane = 3 * settings.cropSize * settings.cropSize
        var out: [[Float]] = []
        out.reserveCapacity(images.count)
        for start in stride(from: 0, to: images.count, by: Self.maxImagesPerPass) {
            let batch = images[start..<min(start + Self.maxImagesPerPass, images.count)]
            var pixels = [Float](repeating: 0, count: batch.count * plane) // (n, 3, S, S)
            for (n, image) in batch.enumerated() {
                let crop = try CLIPImagePreprocessing.resizedCrop(image, settings: settings)
                pixels.withUnsafeMutableBufferPointer { CLIPImagePreprocessing.normalize(crop, settings: settings, into: $0.baseAddress! + n * plane) }
            }
            lock.lock()
            out += pixels.withUnsafeBufferPointer { imageForward($0.baseAddress!, count: batch.count) }
            lock.unlock()
        }
        return out
    }

    /// `count` preprocessed pictures (count, 3, S, S) → unit embeddings.
    func imageForward(_ pixels: UnsafePointer<Float>, count: Int) -> [[Float]] {
        let v = config.vision, d = v.encoder.hiddenSize, p = v.patchSize, side = v.imageSize, grid = v.patchesPerSide
        let positions = v.positions, patchWidth = v.channels * p * p, plane = v.channels * side * side
        let s = visionScratch
        s.reserve(rows: count * positions)
        for n in 0..<count {
            // The stride-P convolution as a GEMM: patches (grid², 3·P·P), columns (c, ky, kx)
            // as the weight's (dv, 3, P, P) flattens, gathered into g.
            let image = pixels + n * plane, patches = s.g
            for py in 0..<grid {
                for px in 0..<grid {
                    var dst = patches + (py * grid + px) * patchWidth
                    for c in 0..<v.channels {
                        for ky in 0..<p {
                            (dst).update(from: image + c * side * side + (py * p + ky) * side + px * p, count: p)
                            dst += p
                        }
                    }
                }
            }
            let x = s.x + n * positions * d // (positions, d): class row, then the patches
            visionEmbeddingsPatchEmbedding.forward(patches, rows: grid * grid, into: x + d, pool: pool)
            visionEmbeddingsClassEmbedding.withUnsafeBufferPointer { for j in 0..<d { x[j] = $0[j] } }
            visionEmbeddingsPositionEmbedding.withUnsafeBufferPointer { add(x, $0.baseAddress!, count: positions * d, into: x) }
        }
        layerNorm(s.x, rows: count * positions, cols: d, gamma: visionPreLayrnormWeight, beta: visionPreLayrnormBias,
                  eps: v.encoder.layerNormEps, out: s.x, pool: pool)
        visionEncoder.forward(lengths: Array(repeating: positions, count: count), causal: false, scratch: s, pool: pool)
        return project(rows: (0..<count).map { $0 * positions }, of: s.x, width: d, gamma: visionPostLayernormWeight,
                       beta: visionPostLayernormBias, eps: v.encoder.layerNormEps, projection: visualProjection)
    }

    // MARK: - Shared tail

    /// LayerNorm of the picked rows of `hidden` (·, width), the projection, L2 normalisation.
    private func project(rows picked: [Int], of hidden: UnsafePointer<Float>, width d: Int, gamma: [Float], beta: [Float],
                         eps: Float, projection: PackedLinear) -> [[Float]] {
        let n = picked.count, e = dimension
        var pooled = [Float](repeating: 0, count: n * d)      // (n, d)
        var projected = [Float](repeating: 0, count: n * e)   // (n, projection)
        pooled.withUnsafeMutableBufferPointer { pb in
            for (i, r) in picked.enumerated() { (pb.baseAddress! + i * d).update(from: hidden + r * d, count: d) }
            layerNorm(pb.baseAddress!, rows: n, cols: d, gamma: gamma, beta: beta, eps: eps, out: pb.baseAddress!, pool: pool)
            projected.withUnsafeMutableBufferPointer { projection.forward(pb.baseAddress!, rows: n, into: $0.baseAddress!, pool: pool) }
        }
        return (0..<n).map { i in
            let v = Array(projected[(i * e)..<((i + 1) * e)])
            let norm = v.reduce(0.0) { $0 + Double($1) * Double($1) }.squareRoot()
            let inv = Float(1 / max(norm, 1e-12)) // F.normalize's eps: a zero vector stays zero
            return v.map { $0 * inv }
        }
    }
}
