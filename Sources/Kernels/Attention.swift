// Scaled dot-product attention softmax(q·kᵀ·scale + mask)·v per head, with an additive
// mask and/or a causal mask, over any head layout: head-major (heads, t, d) or token-major
// (t, heads·d) as a Linear layer produces it, so callers need no split/merge copies. Heads
// are spread over the pool (each thread uses its own thread-local score scratch); with fewer
// heads than threads the GEMMs inside are parallel instead.
import CKernels
import Foundation

/// out (heads, tq, d) = softmax(q kᵀ · scale + mask) v for q (heads, tq, d), k and v
/// (heads, tk, d), all contiguous head-major. mask (tq, tk) is added to the logits
/// (-inf blocks); `causal` blocks key j > i + (tk - tq) for query i (queries are the last
/// tq positions). scale defaults to 1/sqrt(d).
public func scaledDotProductAttention(q: UnsafePointer<Float>, k: UnsafePointer<Float>, v: UnsafePointer<Float>,
                                      heads: Int, tq: Int, tk: Int, headDim d: Int, mask: UnsafePointer<Float>? = nil,
                                      causal: Bool = false, scale: Float? = nil, output: UnsafeMutablePointer<Float>,
                                      pool: ThreadPool = .shared) {
    attention(q: q, qLayout: .headMajor(rows: tq, headDim: d), k: k, kLayout: .headMajor(rows: tk, headDim: d),
              v: v, vLayout: .headMajor(rows: tk, headDim: d), heads: heads, tq: tq, tk: tk, headDim: d, mask: mask,
              causal: causal, scale: scale, output: output, outputLayout: .headMajor(rows: tq, headDim: d), pool: pool)
}

/// How attention over long query sequences (an encoder's) multiplies q·kᵀ and p·v.
public enum AttentionProducts: Sendable {
    /// fp32 throughout.
    case fp32
    /// Both products on bf16-rounded operands (queries, keys, the softmax weights, values)
    /// with fp32 accumulation; scores, mask and softmax stay fp32. vdpbf16ps where the
    /// kernels have AVX-512 BF16 (twice the multiply rate); elsewhere the same rounding in
    /// fp32 panels (the same numbers up to summation order, slower: for checking accuracy).
    /// Short query sequences (decoder steps, under 32 queries) stay fp32.
    case bf16
}

/// Attention over explicit layouts (see HeadLayout); semantics as scaledDotProductAttention.
public func attention(q: UnsafePointer<Float>, qLayout: HeadLayout, k: UnsafePointer<Float>, kLayout: HeadLayout,
                      v: UnsafePointer<Float>, vLayout: HeadLayout, heads: Int, tq: Int, tk: Int, headDim d: Int,
                      mask: UnsafePointer<Float>? = nil, causal: Bool = false, scale: Float? = nil,
                      output: UnsafeMutablePointer<Float>, outputLayout: HeadLayout, products: AttentionProducts = .fp32,
                      pool: ThreadPool = .shared) {
    guard heads > 0, tq > 0, tk > 0, d > 0 else { return }
    let s = scale ?? 1 / Float(d).squareRoot()
    // Long query sequences (encoders): K and V are packed into GEMM panels once per head
    // and reused by every query block (see attendPacked). Short ones (decoder steps over a
    // KV cache that grows each step) take the direct small-M GEMM path, where packing would
    // cost as much as the product.
    let blocked = tq >= 32
    let bf16 = blocked && products == .bf16
    if KernelConfig.forceReference {
        attentionReference(q: q, qLayout: qLayout, k: k, kLayout: kLayout, v: v, vLayout: vLayout, heads: heads, tq: tq, tk: tk,
                           headDim: d, mask: mask, causal: causal, scale: s, roundToBF16: bf16, output: output,
                           outputLayout: outputLayout)
        return
    }
    let rows = blocked ? attentionBlockRows(tq: tq, tk: tk) : tq
    let isa = Int32(KernelConfig.isa.rawValue)
    let nativeBF16 = bf16 && KernelConfig.bf16Kernels
    let emulatedBF16 = bf16 && !nativeBF16
    // Per head, in thread-local slot 3: K_hᵀ as (d, tk) panels and V_h as (tk, d) panels,
    // fp32 or bf16; emulated, first the bf16-rounded copies of q_h, k_h and v_h they are made from.
    let kPackFloats = nativeBF16 ? (Int(sl_packed_b_bf16_elems(Int32(d), Int32(tk))) + 1) / 2 : sl_packed_b_floats(isa, Int32(d), Int32(tk))
    let vPackFloats = nativeBF16 ? (Int(sl_packed_b_bf16_elems(Int32(tk), Int32(d))) + 1) / 2 : sl_packed_b_floats(isa, Int32(tk), Int32(d))
    let roundedFloats = emulatedBF16 ? (tq + 2 * tk) * d : 0
    let span = AttentionSpan(tq: tq, tk: tk, d: d, scale: s, mask: mask, causal: causal, blockRows: rows, roundWeights: emulatedBF16)

    func head(_ h: Int, _ scores: UnsafeMutablePointer<Float>, _ inner: ThreadPool) {
        let qh = q + h * qLayout.headStride, kh = k + h * kLayout.headStride
        let vh = v + h * vLayout.headStride, oh = output + h * outputLayout.headStride
        guard blocked else {
            // scores (tq, tk) = scale * q_h k_hᵀ
            sgemm(transB: true, m: tq, n: tk, k: d, alpha: s, a: qh, lda: qLayout.rowStride, b: kh, ldb: kLayout.rowStride,
                  c: scores, ldc: tk, pool: inner)
            span.maskRows(scores, from: 0, rows: tq)
            softmax(scores, rows: tq, cols: tk, pool: inner)
            // out_h (tq, d) = scores v_h
            sgemm(m: tq, n: d, k: tk, a: scores, lda: tk, b: vh, ldb: vLayout.rowStride, c: oh, ldc: outputLayout.rowStride, pool: inner)
            return
        }
        // Thread-local slot 3 holds this head's packed K and V (slot 1 the scores).
        guard let scratch = sl_thread_scratch(3, roundedFloats + kPackFloats + vPackFloats) else {
            preconditionFailure("attention: out of memory packing K/V (\(tk), \(d))")
        }
        let packs = scratch + roundedFloats
        if nativeBF16 {
            packs.withMemoryRebound(to: UInt16.self, capacity: 2 * (kPackFloats + vPackFloats)) { p16 in
                sl_pack_b_bf16_f32(Int32(d), Int32(tk), kh, kLayout.rowStride, 1, p16)
                sl_pack_b_bf16_f32(Int32(tk), Int32(d), vh, vLayout.rowStride, 0, p16 + 2 * kPackFloats)
                span.attendPacked(isa: isa, q: qh, qRowStride: qLayout.rowStride, keys: .bf16(p16),
                                  values: .bf16(p16 + 2 * kPackFloats), output: oh, outputRowStride: outputLayout.rowStride,
                                  scores: scores, pool: inner)
            }
            return
        }
        var (qs, qStride, ks, kStride, vs, vStride) = (qh, qLayout.rowStride, kh, kLayout.rowStride, vh, vLayout.rowStride)
        if emulatedBF16 {
            roundRowsToBF16(qh, rows: tq, cols: d, stride: qLayout.rowStride, into: scratch)
            roundRowsToBF16(kh, rows: tk, cols: d, stride: kLayout.rowStride, into: scratch + tq * d)
            roundRowsToBF16(vh, rows: tk, cols: d, stride: vLayout.rowStride, into: scratch + (tq + tk) * d)
            (qs, qStride, ks, kStride, vs, vStride) = (UnsafePointer(scratch), d, UnsafePointer(scratch + tq * d), d,
                                                       UnsafePointer(scratch + (tq + tk) * d), d)
        }
        sl_pack_b_f32(isa, Int32(d), Int32(tk), ks, kStride, 1, packs)
        sl_pack_b_f32(isa, Int32(tk), Int32(d), vs, vStride, 0, packs + kPackFloats)
        span.attendPacked(isa: isa, q: qs, qRowStride: qStride, keys: .fp32(packs), values: .fp32(packs + kPackFloats),
                          output: oh, outputRowStride: outputLayout.rowStride, scores: scores, pool: inner)
    }
    forEachHead(heads, scoreFloats: rows * tk, pool: pool, head)
}

/// (rows, cols) read with row stride `stride`, rounded to bf16 (nearest even) and written
/// contiguously as fp32.
private func roundRowsToBF16(_ x: UnsafePointer<Float>, rows: Int, cols: Int, stride: Int, into y: UnsafeMutablePointer<Float>) {
    for r in 0..<rows {
        for c in 0..<cols { y[r * cols + c] = HalfPrecision.roundedToBFloat16(x[r * stride + c]) }
    }
}

/// Keys and values of one fixed sequence packed per head into GEMM panels once, for the
/// many short query blocks that attend to them (a decoder's cross-attention over the
/// encoder output, every step of every hypothesis). Each step's q·kᵀ and p·v then read
/// each head's panels as one contiguous run, where reading the keys and values in place
/// takes 64-float pieces at a 4–6 KiB stride and left the kernel at a third of the memory
/// bandwidth. Allocated once (for up to `maxTokens` keys), refilled by `pack` per sequence,
/// which may hold fewer keys (a slice of an encoder output).
///
/// A sequence in which rows repeat can be packed once per distinct row, each with the
/// number of times it stands for (`repeats`): its score gets log(repeats) added, so
/// softmax weighs it as that many identical keys would be weighed, and the attention equals
/// the one over the sequence written out in full at a fraction of the reads.
public final class PackedKeysValues: @unchecked Sendable {
    public let heads: Int, maxTokens: Int, headDim: Int
    /// Keys and values of the sequence last packed (`maxTokens` until then).
    public private(set) var tokens: Int
    /// (tokens) log of how many keys each packed key stands for; nil: one each.
    public private(set) var keyLogWeights: [Float]?
    /// The ISA whose panel width the contents were packed with (set by `pack`).
    private(set) var isa: Int32
    private let capacity: Int
    private let storage: UnsafeMutablePointer<Float> // per head: K panels then V panels

    public init(heads: Int, tokens: Int, headDim: Int) {
        precondition(heads > 0 && tokens > 0 && headDim > 0, "PackedKeysValues: empty shape")
        self.heads = heads; self.maxTokens = tokens; self.tokens = tokens; self.headDim = headDim
        // Sized for the widest panels of any ISA, so a later ISA switch (tests) still fits.
        capacity = KernelConfig.ISA.allCases.map { isa in
            Int(sl_packed_b_floats(Int32(isa.rawValue), Int32(headDim), Int32(tokens))) +
                Int(sl_packed_b_floats(Int32(isa.rawValue), Int32(tokens), Int32(headDim)))
        }.max()!
        storage = .allocate(capacity: heads * capacity)
        isa = Int32(KernelConfig.isa.rawValue)
    }

    deinit { storage.deallocate() }

    /// Packs keys and values (heads, count, headDim) given in any layout; `count` (at most
    /// `maxTokens`, which it defaults to) becomes `tokens`. `repeats` (count), when given,
    /// says how many identical keys each one stands for (each at least 1).
    public func pack(k: UnsafePointer<Float>, kLayout: HeadLayout, v: UnsafePointer<Float>, vLayout: HeadLayout,
                     count: Int? = nil, repeats: [Int]? = nil, pool: ThreadPool = .shared) {
        let count = count ?? maxTokens
        precondition(count > 0 && count <= maxTokens, "PackedKeysValues: \(count) tokens, room for \(maxTokens)")
        if let repeats {
            precondition(repeats.count == count && repeats.allSatisfy { $0 >= 1 },
                         "PackedKeysValues: \(repeats.count) repeat counts for \(count) tokens, each at least 1")
            keyLogWeights = repeats.allSatisfy { $0 == 1 } ? nil : repeats.map { Float(Foundation.log(Double($0))) }
        } else {
            keyLogWeights = nil
        }
        tokens = count
        isa = Int32(KernelConfig.isa.rawValue)
        let (isa, t, d) = (isa, Int32(tokens), Int32(headDim))
        pool.parallelFor(heads, minChunk: 1) { range in
            for h in range {
                sl_pack_b_f32(isa, d, t, k + h * kLayout.headStride, kLayout.rowStride, 1, self.keys(h))
                sl_pack_b_f32(isa, t, d, v + h * vLayout.headStride, vLayout.rowStride, 0, self.values(h))
            }
        }
    }

    func keys(_ h: Int) -> UnsafeMutablePointer<Float> { storage + h * capacity }
    /// Each head's V panels follow its K panels, whose size depends on `isa`'s panel width.
    func values(_ h: Int) -> UnsafeMutablePointer<Float> {
        storage + h * capacity + Int(sl_packed_b_floats(isa, Int32(headDim), Int32(tokens)))
    }

    /// Key / value (head h, token j, channel c) read back from the panels: Kᵀ (headDim,
    /// tokens) has token j in panel j / NR, column j % NR of row c; V (tokens, headDim) has
    /// channel c in panel c / NR, column c % NR of row j.
    func key(_ h: Int, _ j: Int, _ c: Int) -> Float {
        let nr = Int(sl_gemm_nr(isa))
        return keys(h)[(j / nr) * headDim * nr + c * nr + j % nr]
    }
    func value(_ h: Int, _ j: Int, _ c: Int) -> Float {
        let nr = Int(sl_gemm_nr(isa))
        return values(h)[(c / nr) * tokens * nr + j * nr + c % nr]
    }
}

/// out = softmax(q kᵀ · scale + log repeats) v with keys and values from `packed` (no
/// mask; the log of each key's repeats when it was packed with them).
public func attention(q: UnsafePointer<Float>, qLayout: HeadLayout, packed kv: PackedKeysValues, tq: Int,
                      scale: Float? = nil, output: UnsafeMutablePointer<Float>, outputLayout: HeadLayout,
                      pool: ThreadPool = .shared) {
    let heads = kv.heads, tk = kv.tokens, d = kv.headDim
    guard tq > 0 else { return }
    let s = scale ?? 1 / Float(d).squareRoot()
    if KernelConfig.forceReference {
        attentionReference(q: q, qLayout: qLayout, packed: kv, tq: tq, scale: s, output: output, outputLayout: outputLayout)
        return
    }
    let keyBias = kv.keyLogWeights
    keyBias.withUnsafeBufferPointerIfPresent { bias in
        let span = AttentionSpan(tq: tq, tk: tk, d: d, scale: s, mask: nil, causal: false,
                                 blockRows: tq >= 32 ? attentionBlockRows(tq: tq, tk: tk) : tq, keyBias: bias)
        forEachHead(heads, scoreFloats: span.blockRows * tk, pool: pool) { h, scores, inner in
            span.attendPacked(isa: kv.isa, q: q + h * qLayout.headStride, qRowStride: qLayout.rowStride, keys: .fp32(kv.keys(h)),
                              values: .fp32(kv.values(h)), output: output + h * outputLayout.headStride,
                              outputRowStride: outputLayout.rowStride, scores: scores, pool: inner)
        }
    }
}

private extension Optional where Wrapped == [Float] {
    /// Runs `body` with the array's storage, or with nil when there is no array.
    func withUnsafeBufferPointerIfPresent<T>(_ body: (UnsafePointer<Float>?) -> T) -> T {
        switch self {
        case let .some(array): array.withUnsafeBufferPointer { body($0.baseAddress) }
        case .none: body(nil)
        }
    }
}

/// Query rows per block on the packed path, so a block's scores (rows, tk) stay cache-resident
/// through mask, softmax and the second GEMM.
private func attentionBlockRows(tq: Int, tk: Int) -> Int { min(tq, max(12, ((1 << 17) / tk + 11) / 12 * 12)) }

/// Runs `head` for every head: heads spread over the pool's threads (each with its own
/// thread-local scores and serial kernels inside), or, with fewer heads than threads, one
/// head after another with the pool inside the GEMMs.
private func forEachHead(_ heads: Int, scoreFloats: Int, pool: ThreadPool,
                         _ head: (Int, UnsafeMutablePointer<Float>, ThreadPool) -> Void) {
    func scores() -> UnsafeMutablePointer<Float> {
        // Thread-local slot 1 (the GEMM driver uses slot 0).
        guard let s = sl_thread_scratch(1, scoreFloats) else { preconditionFailure("attention: out of memory for \(scoreFloats) scores") }
        return s
    }
    if heads >= pool.threadCount && pool.threadCount > 1 {
        pool.run(tasks: heads) { h in head(h, scores(), pool) }
    } else {
        let s = scores()
        for h in 0..<heads { head(h, s, pool) }
    }
}

/// One head's shape and masking for a (tq, tk) attention.
private struct AttentionSpan {
    let tq: Int, tk: Int, d: Int, scale: Float
    let mask: UnsafePointer<Float>?
    let causal: Bool
    let blockRows: Int
    /// (tk) added to every query row's scores (the log of each key's repeats).
    var keyBias: UnsafePointer<Float>? = nil
    /// Round the softmax weights to bf16 before p·v (bf16 products emulated in fp32).
    var roundWeights = false

    /// Packed GEMM panels of K or V: fp32 (sl_pack_b_f32) or bf16 (sl_pack_b_bf16), the
    /// latter multiplied with vdpbf16ps on bf16-rounded rows of q or p.
    enum Panels {
        case fp32(UnsafePointer<Float>)
        case bf16(UnsafePointer<UInt16>)

        func set(on args: inout sl_gemm_args) {
            switch self {
            case let .fp32(p): args.packedB = p
            case let .bf16(p): args.packedB16 = p; args.bf16Mode = Int32(SL_BF16_DOT)
            }
        }
    }

    func maskRows(_ scores: UnsafeMutablePointer<Float>, from r0: Int, rows: Int) {
        if let mask { add(scores, mask + r0 * tk, count: rows * tk, into: scores) }
        if let keyBias { for i in 0..<rows { add(scores + i * tk, keyBias, count: tk, into: scores + i * tk) } }
        if causal {
            for i in 0..<rows {
                let first = max(r0 + i + (tk - tq) + 1, 0)
                if first < tk { (scores + i * tk + first).update(repeating: -.infinity, count: tk - first) }
            }
        }
    }

    /// One head's queries against its K (as (d, tk) panels) and V (as (tk, d) panels), in
    /// blocks of `blockRows` query rows.
    func attendPacked(isa: Int32, q: UnsafePointer<Float>, qRowStride: Int, keys: Panels,
                      values: Panels, output: UnsafeMutablePointer<Float>, outputRowStride: Int,
                      scores: UnsafeMutablePointer<Float>, pool: ThreadPool) {
        var r0 = 0
        while r0 < tq {
            let rows = min(blockRows, tq - r0)
            var qk = sl_gemm_args() // scores (rows, tk) = scale * q[r0...] kᵀ
            qk.isa = isa
            qk.m = Int32(rows); qk.n = Int32(tk); qk.k = Int32(d)
            qk.alpha = scale; qk.beta = 0
            qk.a = q + r0 * qRowStride; qk.lda = qRowStride
            keys.set(on: &qk)
            qk.c = scores; qk.ldc = tk
            GEMMPartition.run(qk, pool: pool)
            maskRows(scores, from: r0, rows: rows)
            softmax(scores, rows: rows, cols: tk, pool: pool)
            if roundWeights {
                for i in 0..<(rows * tk) { scores[i] = HalfPrecision.roundedToBFloat16(scores[i]) }
            }
            var pv = sl_gemm_args() // out[r0...] (rows, d) = scores v
            pv.isa = isa
            pv.m = Int32(rows); pv.n = Int32(d); pv.k = Int32(tk)
            pv.alpha = 1; pv.beta = 0
            pv.a = UnsafePointer(scores); pv.lda = tk
            values.set(on: &pv)
            pv.c = output + r0 * outputRowStride; pv.ldc = outputRowStride
            GEMMPartition.run(pv, pool: pool)
            r0 += rows
        }
    }
}

/// Reference for attention(packed:): Double accumulation over the panels read back element by element.
func attentionReference(q: UnsafePointer<Float>, qLayout: HeadLayout, packed kv: PackedKeysValues, tq: Int, scale: Float,
                        output: UnsafeMutablePointer<Float>, outputLayout: HeadLayout) {
    var weights = [Double](repeating: 0, count: kv.tokens)
    for h in 0..<kv.heads {
        for i in 0..<tq {
            let qi = q + h * qLayout.headStride + i * qLayout.rowStride
            for j in 0..<kv.tokens {
                var dot = 0.0
                for c in 0..<kv.headDim { dot += Double(qi[c]) * Double(kv.key(h, j, c)) }
                weights[j] = dot * Double(scale) + Double(kv.keyLogWeights?[j] ?? 0)
            }
            let m = weights.max()!
            var sum = 0.0
            for j in 0..<kv.tokens { weights[j] = Foundation.exp(weights[j] - m); sum += weights[j] }
            let o = output + h * outputLayout.headStride + i * outputLayout.rowStride
            for c in 0..<kv.headDim {
                var acc = 0.0
                for j in 0..<kv.tokens { acc += weights[j] * Double(kv.value(h, j, c)) }
                o[c] = Float(acc / sum)
            }
        }
    }
}

/// Direct reference: Double accumulation, one query row at a time.
public func attentionReference(q: UnsafePointer<Float>, qLayout: HeadLayout, k: UnsafePointer<Float>, kLayout: HeadLayout,
                               v: UnsafePointer<Float>, vLayout: HeadLayout, heads: Int, tq: Int, tk: Int, headDim d: Int,
                               mask: UnsafePointer<Float>?, causal: Bool, scale: Float, roundToBF16: Bool = false,
                               output: UnsafeMutablePointer<Float>, outputLayout: HeadLayout) {
    /// x as the bf16 products read it (AttentionProducts.bf16), or as it is.
    func operand(_ x: Float) -> Double {
        Double(roundToBF16 ? HalfPrecision.roundedToBFloat16(x) : x)
    }
    var logits = [Double](repeating: 0, count: tk)
    for h in 0..<heads {
        for i in 0..<tq {
            let qi = q + h * qLayout.headStride + i * qLayout.rowStride
            var m = -Double.infinity
            for j in 0..<tk {
                let kh = k + h * kLayout.headStride
                var dot = 0.0
                for c in 0..<d {
                    dot += operand(qi[c]) * operand(kh[j * kLayout.rowStride + c])
                }
                var l = dot * Double(scale)
                if let mask { l += Double(mask[i * tk + j]) }
                if causal && j > i + (tk - tq) { l = -.infinity }
                logits[j] = l
                m = max(m, l)
            }
            var sum = 0.0
            for j in 0..<tk { logits[j] = logits[j] == -.infinity ? 0 : Foundation.exp(logits[j] - m); sum += logits[j] }
            // The weights normalised, then (bf16 products) rounded as p·v reads them.
            for j in 0..<tk { logits[j] = roundToBF16 ? operand(Float(logits[j] / sum)) : logits[j] / sum }
            let o = output + h * outputLayout.headStride + i * outputLayout.rowStride
            for c in 0..<d {
                var acc = 0.0
                for j in 0..<tk { acc += logits[j] * operand(v[h * vLayout.headStride + j * vLayout.rowStride + c]) }
                o[c] = Float(acc)
            }
        }
    }
}
