// Whisper (encoder-decoder transformer, openai/whisper) on the Sightline kernel pool, loaded
// from a CTranslate2 or Hugging Face directory (WhisperCheckpoint). Reads top to bottom:
// blueprint (WhisperConfig), weights (named by their CTranslate2 variable names), encoder,
// decoder.
//
// Encoder: log-mel (80, 3000) → conv1 k3 p1 + GELU → conv2 k3 s2 p1 + GELU → (1500, d)
//   + sinusoidal positions → pre-norm blocks [x += SelfAttn(LN(x)); x += FFN(LN(x))] → LN.
// Decoder: token embedding + learned positions → pre-norm blocks [causal self-attention
//   with a per-hypothesis KV cache, cross-attention over the encoder output (keys/values
//   computed once per window), FFN] → LN → logits against the tied embedding matrix.
// Activations are Float32; fp16 checkpoint weights are widened once at load (the
// reference, faster-whisper with compute_type=float32, does the same). With precision bf16
// the encoder's linear layers (the window's big GEMMs) keep bf16 weights and multiply
// bf16-rounded activations with fp32 accumulation on CPUs with AVX-512 BF16, its
// self-attention (1500 × 1500 per head: as many multiply-adds as its linear layers'
// half) multiplies bf16-rounded queries, keys, weights and values the same way, and the
// decoder's linear layers do as the encoder's at every step, the tied embedding too;
// elsewhere the same rounding is emulated in fp32 (same numbers, slower).
import Foundation
import Kernels
import ModelIO

/// Arithmetic of the linear layers (see the file's opening comment).
public enum WhisperPrecision: String, Sendable, CaseIterable {
    case fp32, bf16
    /// bf16 where the kernels run AVX-512 BF16 (vdpbf16ps), fp32 elsewhere: also on such a
    /// CPU with the kernels held to AVX2 (`SIGHTLINE_KERNEL_ISA`), where bf16 would be
    /// emulated and slower, as on a CPU without it.
    case auto

    /// `auto` decided for this CPU and kernel path.
    public var resolved: WhisperPrecision {
        guard self == .auto else { return self }
        return KernelConfig.bf16Kernels ? .bf16 : .fp32
    }

    /// How the linear layers keep their weights.
    var weightStorage: PackedLinear.Storage { resolved == .bf16 ? .bfloat16 : .float32 }
}

/// The blueprint: sizes and the decoding metadata from config.json.
public struct WhisperConfig: Sendable {
    public let melCount: Int
    public let dModel: Int
    public let encoderLayers: Int
    public let decoderLayers: Int
    public let encoderHeads: Int
    public let decoderHeads: Int
    public let vocabularySize: Int
    public let encoderPositions: Int // 1500: 30 s after the stride-2 conv
    public let decoderPositions: Int // 448
    /// (decoder layer, head) pairs whose cross-attention follows the speech (word timing).
    public let alignmentHeads: [(layer: Int, head: Int)]
    public let suppressIDs: [Int]
    public let suppressIDsBegin: [Int]
    public let languageIDs: [Int]
    public var ffnSize: Int { 4 * dModel }
}

/// One pre-norm transformer block's weights (CT2 names under encoder/layer_N or decoder/layer_N).
final class WhisperBlock: @unchecked Sendable {
    // self_attention/layer_norm/{gamma,beta}
    let attnNormGamma: [Float], attnNormBeta: [Float] // (d)
    // self_attention/linear_0: fused query,key,value (3d, d); linear_1: output (d, d)
    let qkv: PackedLinear
    let attnOut: PackedLinear
    // attention/* (decoder only): layer_norm, linear_0 query (d, d), linear_1 fused key,value (2d, d), linear_2 output
    let crossNormGamma: [Float]?, crossNormBeta: [Float]?
    let crossQuery: PackedLinear?, crossKV: PackedLinear?, crossOut: PackedLinear?
    // ffn/layer_norm, ffn/linear_0 (4d, d), ffn/linear_1 (d, 4d)
    let ffnNormGamma: [Float], ffnNormBeta: [Float]
    let ffnIn: PackedLinear, ffnOut: PackedLinear

    init(checkpoint: WhisperCheckpoint, prefix p: String, d: Int, cross: Bool, precision: WhisperPrecision = .fp32,
         bf16Compute: PackedLinear.BF16Compute = .auto) throws {
        func vec(_ n: String) throws -> [Float] { try checkpoint.floats("\(p)/\(n)", shape: [d]) }
        func lin(_ n: String, out: Int, in i: Int) throws -> PackedLinear {
            let w = try checkpoint.weight("\(p)/\(n)/weight", shape: [out, i])
            let b = try checkpoint.floats("\(p)/\(n)/bias", shape: [out])
            return try PackedLinear(weight: w, bias: b, storage: precision.weightStorage, bf16Compute: bf16Compute, bf16Fallback: .emulate)
        }
        attnNormGamma = try vec("self_attention/layer_norm/gamma")
        attnNormBeta = try vec("self_attention/layer_norm/beta")
        qkv = try lin("self_attention/linear_0", out: 3 * d, in: d)
        attnOut = try lin("self_attention/linear_1", out: d, in: d)
        if cross {
            crossNormGamma = try vec("attention/layer_norm/gamma")
            crossNormBeta = try vec("attention/layer_norm/beta")
            crossQuery = try lin("attention/linear_0", out: d, in: d)
            crossKV = try lin("attention/linear_1", out: 2 * d, in: d)
            crossOut = try lin("attention/linear_2", out: d, in: d)
        } else {
            crossNormGamma = nil; crossNormBeta = nil; crossQuery = nil; crossKV = nil; crossOut = nil
        }
        ffnNormGamma = try vec("ffn/layer_norm/gamma")
        ffnNormBeta = try vec("ffn/layer_norm/beta")
        ffnIn = try lin("ffn/linear_0", out: 4 * d, in: d)
        ffnOut = try lin("ffn/linear_1", out: d, in: 4 * d)
    }
}

public final class WhisperModel: @unchecked Sendable { // one window at a time; see WhisperTranscriber
    public static let layerNormEps: Float = 1e-5
    public static let framesPerWindow = 3000 // 30 s of 10 ms mel frames
    public let config: WhisperConfig
    public let directory: URL
    public let pool: ThreadPool

    // encoder/conv1 (d, 80, 3), encoder/conv2 (d, d, 3) and biases
    let conv1Weight: [Float], conv1Bias: [Float]
    let conv2Weight: [Float], conv2Bias: [Float]
    let encoderPositions: [Float] // encoder/position_encodings/encodings (1500, d)
    let encoderBlocks: [WhisperBlock]
    let encoderNormGamma: [Float], encoderNormBeta: [Float] // encoder/layer_norm
    let decoderPositions: [Float] // decoder/position_encodings/encodings (448, d)
    let decoderBlocks: [WhisperBlock]
    let decoderNormGamma: [Float], decoderNormBeta: [Float] // decoder/layer_norm
    // decoder/projection/weight, tied to decoder/embeddings/weight (vocab, d), no bias. The
    // embedding lookup reads rows back out of the packed panels, so the 100 MB (base) matrix
    // is held once.
    let projection: PackedLinear

    // Encoder scratch, allocated once.
    private let conv1Shape: Conv1dShape // mels → d, k3 p1 over 3000 frames
    private let conv2Shape: Conv1dShape // d → d, k3 s2 p1 → 1500 positions
    private let convScratch: UnsafeMutablePointer<Float> // im2col for either conv: the larger of their scratch counts
    private let conv1Out: UnsafeMutablePointer<Float>    // (d, 3000)
    private let conv2Out: UnsafeMutablePointer<Float>    // (d, 1500)
    private let encX: UnsafeMutablePointer<Float>        // (1500, d)
    private let encH: UnsafeMutablePointer<Float>        // (1500, d)
    private let encQKV: UnsafeMutablePointer<Float>      // (1500, 3d)
    private let encFFN: UnsafeMutablePointer<Float>      // (1500, 4d)

    /// Loads a Whisper directory: CTranslate2 (model.bin) or Hugging Face (model.safetensors).
    /// Arithmetic of the encoder's linear layers (`auto` resolved).
    public let precision: WhisperPrecision
    /// How the encoder's self-attention multiplies (bf16 with the bf16 precision).
    var attentionProducts: AttentionProducts { precision == .bf16 ? .bf16 : .fp32 }

    public init(directory: URL, pool: ThreadPool = .shared, precision: WhisperPrecision = .fp32) throws {
        self.directory = directory
        self.precision = precision.resolved
        self.pool = pool
        let checkpoint = try WhisperCheckpoint(directory: directory)
        config = checkpoint.config
        let c = config, d = c.dModel
        guard c.encoderLayers > 0, c.decoderLayers > 0, d % c.encoderHeads == 0, d % c.decoderHeads == 0 else {
            throw WhisperError.model(.invalidModelDirectory(path: directory.path, reason: "inconsistent sizes: d=\(d), layers \(c.encoderLayers)/\(c.decoderLayers), heads \(c.encoderHeads)/\(c.decoderHeads)"))
        }
        // 30 s windows of 10 ms frames, halved by conv2's stride: every Whisper has 1500 positions.
        guard c.encoderPositions * 2 == Self.framesPerWindow else {
            throw WhisperError.model(.invalidModelDirectory(path: directory.path, reason: "\(c.encoderPositions) encoder positions; Whisper's 30 s windows need \(Self.framesPerWindow / 2)"))
        }
        conv1Weight = try checkpoint.floats("encoder/conv1/weight", shape: [d, c.melCount, 3])
        conv1Bias = try checkpoint.floats("encoder/conv1/bias", shape: [d])
        conv2Weight = try checkpoint.floats("encoder/conv2/weight", shape: [d, d, 3])
        conv2Bias = try checkpoint.floats("encoder/conv2/bias", shape: [d])
        encoderPositions = try checkpoint.floats("encoder/position_encodings/encodings", shape: [c.encoderPositions, d])
        encoderBlocks = try (0..<c.encoderLayers).map { try WhisperBlock(checkpoint: checkpoint, prefix: "encoder/layer_\($0)", d: d, cross: false,
                                                                          precision: precision) }
        encoderNormGamma = try checkpoint.floats("encoder/layer_norm/gamma", shape: [d])
        encoderNormBeta = try checkpoint.floats("encoder/layer_norm/beta", shape: [d])
        decoderPositions = try checkpoint.floats("decoder/position_encodings/encodings", shape: [c.decoderPositions, d])
        // With bf16 the decoder, too, rounds its activations and multiplies with vdpbf16ps,
        // at every row count: a step's few rows (the beams) meet weights that stay in cache
        // (but for the vocabulary projection), so the products, not the weight traffic, are
        // what a step costs, and widening bf16 weights against fp32 activations does half the
        // work per instruction. Always the same arithmetic, so beams decoded together with
        // other utterances' get the tokens they get alone.
        decoderBlocks = try (0..<c.decoderLayers).map { try WhisperBlock(checkpoint: checkpoint, prefix: "decoder/layer_\($0)", d: d, cross: true,
                                                                          precision: precision, bf16Compute: .dotProduct) }
        decoderNormGamma = try checkpoint.floats("decoder/layer_norm/gamma", shape: [d])
        decoderNormBeta = try checkpoint.floats("decoder/layer_norm/beta", shape: [d])
        projection = try PackedLinear(weight: try checkpoint.weight("decoder/embeddings/weight", shape: [c.vocabularySize, d]), bias: nil,
                                      storage: precision.weightStorage, bf16Compute: .dotProduct,
                                      bf16Fallback: .emulate)

        let frames = Self.framesPerWindow, positions = c.encoderPositions
        conv1Shape = Conv1dShape(inChannels: c.melCount, outChannels: d, length: frames, kernel: 3, padding: 1)
        conv2Shape = Conv1dShape(inChannels: d, outChannels: d, length: frames, kernel: 3, stride: 2, padding: 1)
        // conv1 unrolls the mel channels, conv2 the model channels; tiny models have d < 80.
        convScratch = .allocate(capacity: max(conv1Shape.scratchCount, conv2Shape.scratchCount))
        conv1Out = .allocate(capacity: d * frames)
        conv2Out = .allocate(capacity: d * positions)
        encX = .allocate(capacity: positions * d)
        encH = .allocate(capacity: positions * d)
        encQKV = .allocate(capacity: positions * 3 * d)
        encFFN = .allocate(capacity: positions * 4 * d)
    }

    deinit {
        for p in [convScratch, conv1Out, conv2Out, encX, encH, encQKV, encFFN] { p.deallocate() }
    }

    public var isMultilingual: Bool { config.vocabularySize >= 51865 }

    // MARK: - Encoder

    /// Encodes one window: mel (80, 3000) → (1500, d) written into `output`.
    /// For utterances packed into one window (WhisperPacking):
    /// - `attentionBlocks`, consecutive ranges of positions covering the window, each
    ///   attending only within itself with its own mask added to the scores: positions of
    ///   different blocks never see each other, and each layer's attention costs the sum of
    ///   the blocks' squared lengths, not the window's;
    /// - `positionIndices` (1500) gives the sinusoidal position added to each row (default:
    ///   the row itself), so each utterance can start at position 0 as alone;
    /// - `conv2LeftEdges` lists mel frames (even) where an utterance starts: conv1's output
    ///   just before each is zeroed, the zero padding conv2 sees left of a lone window's
    ///   first frame.
    public func encode(mel: UnsafePointer<Float>, output: UnsafeMutablePointer<Float>,
                       attentionBlocks: [EncoderAttentionBlock]? = nil, positionIndices: [Int]? = nil,
                       conv2LeftEdges: [Int] = []) throws {
        let c = config, d = c.dModel, frames = Self.framesPerWindow, n = c.encoderPositions
        if let positionIndices, positionIndices.count != n {
            throw WhisperError.invalidOption("\(positionIndices.count) encoder position indices for \(n) positions")
        }
        let blocks = attentionBlocks ?? [EncoderAttentionBlock(rows: 0..<n, mask: nil)]
        var covered = 0
        for b in blocks {
            guard b.rows.lowerBound == covered, !b.rows.isEmpty, b.mask.map({ $0.count == b.rows.count * b.rows.count }) ?? true else {
                throw WhisperError.invalidOption("encoder attention blocks must be consecutive, non-empty and have a (rows, rows) mask")
            }
            covered = b.rows.upperBound
        }
        guard covered == n else { throw WhisperError.invalidOption("encoder attention blocks cover \(covered) of \(n) positions") }
        do {
            try conv1Weight.withUnsafeBufferPointer { w in
                try conv1Bias.withUnsafeBufferPointer { b in
                    try conv1d(mel, shape: conv1Shape,
                               weight: w.baseAddress!, bias: b.baseAddress!, output: conv1Out, scratch: convScratch, pool: pool)
                }
            }
            gelu(conv1Out, count: d * frames, pool: pool)
        for edge in conv2LeftEdges where edge > 0 && edge <= frames {
            for ch in 0..<d { conv1Out[ch * frames + edge - 1] = 0 }
        }
            try conv2Weight.withUnsafeBufferPointer { w in
                try conv2Bias.withUnsafeBufferPointer { b in
                    try conv1d(conv1Out, shape: conv2Shape,
                               weight: w.baseAddress!, bias: b.baseAddress!, output: conv2Out, scratch: convScratch, pool: pool)
                }
            }
        } catch {
            throw WhisperError.kernel("\(error)")
        }
        gelu(conv2Out, count: d * n, pool: pool)
        // (d, 1500) → (1500, d) plus positions.
        encoderPositions.withUnsafeBufferPointer { pos in
            for t in 0..<n {
                let p = positionIndices.map { min(max($0[t], 0), n - 1) } ?? t
                for ch in 0..<d { encX[t * d + ch] = conv2Out[ch * n + t] + pos[p * d + ch] }
            }
        }
        let hd = d / c.encoderHeads
        for block in encoderBlocks {
            layerNorm(encX, rows: n, cols: d, gamma: block.attnNormGamma, beta: block.attnNormBeta, eps: Self.layerNormEps, out: encH, pool: pool)
            block.qkv.forward(encH, rows: n, into: encQKV, pool: pool)
            let layout = HeadLayout(headStride: hd, rowStride: 3 * d)
            for b in blocks {
                let qkv = encQKV + b.rows.lowerBound * 3 * d, len = b.rows.count
                func attend(_ mask: UnsafePointer<Float>?) {
                    attention(q: qkv, qLayout: layout, k: qkv + d, kLayout: layout, v: qkv + 2 * d, vLayout: layout,
                              heads: c.encoderHeads, tq: len, tk: len, headDim: hd, mask: mask,
                              output: encH + b.rows.lowerBound * d, outputLayout: .tokenMajor(heads: c.encoderHeads, headDim: hd),
                              products: attentionProducts, pool: pool)
                }
                if let mask = b.mask { mask.withUnsafeBufferPointer { attend($0.baseAddress) } } else { attend(nil) }
            }
            block.attnOut.forward(encH, rows: n, into: encQKV, pool: pool)
            add(encX, encQKV, count: n * d, into: encX)
            layerNorm(encX, rows: n, cols: d, gamma: block.ffnNormGamma, beta: block.ffnNormBeta, eps: Self.layerNormEps, out: encH, pool: pool)
            block.ffnIn.forward(encH, rows: n, into: encFFN, pool: pool)
            gelu(encFFN, count: n * 4 * d, pool: pool)
            block.ffnOut.forward(encFFN, rows: n, into: encH, pool: pool)
            add(encX, encH, count: n * d, into: encX)
        }
        layerNorm(encX, rows: n, cols: d, gamma: encoderNormGamma, beta: encoderNormBeta, eps: Self.layerNormEps, out: output, pool: pool)
    }

    /// Encoder positions that attend only among themselves (`encode(mel:…attentionBlocks:)`).
    public struct EncoderAttentionBlock: Sendable {
        public let rows: Range<Int>
        /// (rows, rows) added to the attention scores, or nil for none.
        public let mask: [Float]?
        public init(rows: Range<Int>, mask: [Float]?) { self.rows = rows; self.mask = mask }
    }

    // MARK: - Decoder

    /// Computes every layer's cross-attention keys/values from the encoder output (rows, d):
    /// a whole window (1500 rows) or a slice of one (an utterance packed with others).
    /// `repeats` (rows), when given, is how many encoder rows each row stands for: the
    /// decoder attends as if each were written out that many times (PackedKeysValues).
    public func prepareCross(encoded: UnsafePointer<Float>, rows: Int? = nil, repeats: [Int]? = nil, state: WhisperDecoderState) {
        let n = config.encoderPositions, d = config.dModel, hd = d / config.decoderHeads
        let rows = min(max(repeats?.count ?? rows ?? n, 1), n)
        for (l, block) in decoderBlocks.enumerated() {
            let kv = state.crossKV + l * n * 2 * d
            block.crossKV!.forward(encoded, rows: rows, into: kv, pool: pool)
            // Token-major [key | value] rows, packed per head for the decoder steps.
            let layout = HeadLayout(headStride: hd, rowStride: 2 * d)
            state.cross[l].pack(k: kv, kLayout: layout, v: kv + d, vLayout: layout, count: rows, repeats: repeats, pool: pool)
        }
    }

    /// Runs `tokens` through the decoder. Row r of `tokens` belongs to hypothesis slot
    /// `slots[r]` at position `positions[r]`; rows of one slot must be consecutive and in
    /// position order (a prompt), and each slot's cache must hold exactly the positions
    /// before its first row. Writes logits (rows listed in `logitRows`, vocab) into `logits`.
    public func decode(tokens: [Int], slots: [Int], positions: [Int], state: WhisperDecoderState,
                       logitRows: [Int], logits: UnsafeMutablePointer<Float>,
                       crossAttentionHook: ((Int, UnsafePointer<Float>, Int) -> Void)? = nil) {
        decode(parts: [DecoderPart(state: state, tokens: tokens, slots: slots, positions: positions)],
               logitRows: logitRows, logits: logits, crossAttentionHook: crossAttentionHook)
    }

    /// Rows of one decoder pass that belong to one decoder state (one window's encoder output
    /// and its hypotheses' caches); the arguments of `decode(tokens:…)` for that state.
    public struct DecoderPart {
        public let state: WhisperDecoderState
        public let tokens: [Int], slots: [Int], positions: [Int]
        public init(state: WhisperDecoderState, tokens: [Int], slots: [Int], positions: [Int]) {
            self.state = state; self.tokens = tokens; self.slots = slots; self.positions = positions
        }
    }

    /// One decoder pass over the rows of several parts, one after another (`logitRows` index
    /// the rows of all parts together). The layers' weights are read once for all rows —
    /// a decoder step reads every weight for a handful of rows, so steps of utterances with
    /// their own encoder outputs (packed in one window) cost little more together than one
    /// alone; self- and cross-attention run per part on its own state. The first part's state
    /// lends its row scratch (at most `maxRows` rows in all).
    public func decode(parts: [DecoderPart], logitRows: [Int], logits: UnsafeMutablePointer<Float>,
                       crossAttentionHook: ((Int, UnsafePointer<Float>, Int) -> Void)? = nil) {
        guard let scratch = parts.first?.state else { return }
        let c = config, d = c.dModel, heads = c.decoderHeads, hd = d / heads
        let rows = parts.reduce(0) { $0 + $1.tokens.count }
        precondition(rows <= scratch.maxRows, "decoder pass of \(rows) rows, scratch for \(scratch.maxRows)")
        let x = scratch.x, h = scratch.h, big = scratch.big, att = scratch.att
        // Row ranges per part, and within a part per slot (consecutive rows).
        var partRows: [Range<Int>] = []
        var groups: [(part: Int, slot: Int, lo: Int, hi: Int)] = []
        var at = 0
        for (i, part) in parts.enumerated() {
            partRows.append(at..<(at + part.tokens.count))
            for r in 0..<part.tokens.count {
                if let last = groups.last, last.part == i, last.slot == part.slots[r], last.hi == at + r {
                    groups[groups.count - 1].hi = at + r + 1
                } else {
                    groups.append((i, part.slots[r], at + r, at + r + 1))
                }
            }
            at += part.tokens.count
        }
        decoderPositions.withUnsafeBufferPointer { pos in
            for (i, part) in parts.enumerated() {
                for r in 0..<part.tokens.count {
                    let t = part.tokens[r], p = part.positions[r], row = partRows[i].lowerBound + r
                    for ch in 0..<d { x[row * d + ch] = projection.weight(out: t, in: ch) + pos[p * d + ch] }
                }
            }
        }
        for (l, block) in decoderBlocks.enumerated() {
            // Causal self-attention with the per-slot cache.
            layerNorm(x, rows: rows, cols: d, gamma: block.attnNormGamma, beta: block.attnNormBeta, eps: Self.layerNormEps, out: h, pool: pool)
            block.qkv.forward(h, rows: rows, into: big, pool: pool)
            for g in groups {
                let part = parts[g.part], first = g.lo - partRows[g.part].lowerBound
                let start = part.positions[first], count = g.hi - g.lo
                part.state.appendSelf(layer: l, slot: g.slot, position: start, qkvRows: big + g.lo * 3 * d, count: count)
                let kv = part.state.selfLayout
                attention(q: big + g.lo * 3 * d, qLayout: HeadLayout(headStride: hd, rowStride: 3 * d),
                          k: part.state.selfKey(layer: l, slot: g.slot), kLayout: kv,
                          v: part.state.selfValue(layer: l, slot: g.slot), vLayout: kv,
                          heads: heads, tq: count, tk: start + count, headDim: hd, causal: true,
                          output: att + g.lo * d, outputLayout: .tokenMajor(heads: heads, headDim: hd), pool: pool)
            }
            block.attnOut.forward(att, rows: rows, into: h, pool: pool)
            add(x, h, count: rows * d, into: x)
            // Cross-attention over each part's encoder output (shared by that part's slots).
            layerNorm(x, rows: rows, cols: d, gamma: block.crossNormGamma, beta: block.crossNormBeta, eps: Self.layerNormEps, out: h, pool: pool)
            block.crossQuery!.forward(h, rows: rows, into: big, pool: pool)
            for (i, part) in parts.enumerated() where !partRows[i].isEmpty {
                let lo = partRows[i].lowerBound
                attention(q: big + lo * d, qLayout: .tokenMajor(heads: heads, headDim: hd), packed: part.state.cross[l],
                          tq: partRows[i].count, output: att + lo * d, outputLayout: .tokenMajor(heads: heads, headDim: hd), pool: pool)
            }
            crossAttentionHook?(l, UnsafePointer(big), rows)
            block.crossOut!.forward(att, rows: rows, into: h, pool: pool)
            add(x, h, count: rows * d, into: x)
            // Feed-forward.
            layerNorm(x, rows: rows, cols: d, gamma: block.ffnNormGamma, beta: block.ffnNormBeta, eps: Self.layerNormEps, out: h, pool: pool)
            block.ffnIn.forward(h, rows: rows, into: big, pool: pool)
            gelu(big, count: rows * 4 * d, pool: pool)
            block.ffnOut.forward(big, rows: rows, into: h, pool: pool)
            add(x, h, count: rows * d, into: x)
        }
        // Final norm only on the rows whose logits are wanted, then the tied projection.
        for (i, r) in logitRows.enumerated() { (h + i * d).update(from: x + r * d, count: d) }
        layerNorm(h, rows: logitRows.count, cols: d, gamma: decoderNormGamma, beta: decoderNormBeta, eps: Self.layerNormEps, out: h, pool: pool)
        projection.forward(h, rows: logitRows.count, into: logits, pool: pool)
    }
}
