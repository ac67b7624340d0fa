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

/// Attention over explicit layouts (see HeadLayout); semantics as scaledDotProductAttention.
public func attention(q: UnsafePointer<Float>, qLayout: HeadLayout, k: UnsafePointer<Float>, kLayout: HeadLayout,
                      v: UnsafePointer<Float>, vLayout: HeadLayout, heads: Int, tq: Int, tk: Int, headDim d: Int,
                      mask: UnsafePointer<Float>? = nil, causal: Bool = false, scale: Float? = nil,
                      output: UnsafeMutablePointer<Float>, outputLayout: HeadLayout, pool: ThreadPool = .shared) {
    guard heads > 0, tq > 0, tk > 0, d > 0 else { return }
    let s = scale ?? 1 / Float(d).squareRoot()
    if KernelConfig.forceReference {
        attentionReference(q: q, qLayout: qLayout, k: k, kLayout: kLayout, v: v, vLayout: vLayout, heads: heads, tq: tq, tk: tk,
                           headDim: d, mask: mask, causal: causal, scale: s, output: output, outputLayout: outputLayout)
        return
    }
    // Long query sequences (encoders): K and V are packed into GEMM panels once per head
    // and reused by every query block (see attendPacked). Short ones (decoder steps over a
    // KV cache that grows each step) take the direct small-M GEMM path, where packing would
    // cost as much as the product.
    let blocked = tq >= 32
    let rows = blocked ? attentionBlockRows(tq: tq, tk: tk) : tq
    let isa = Int32(KernelConfig.isa.rawValue)
    let kPackFloats = sl_packed_b_floats(isa, Int32(d), Int32(tk)) // K_hᵀ as (d, tk) panels
    let vPackFloats = sl_packed_b_floats(isa, Int32(tk), Int32(d)) // V_h as (tk, d) panels
    let span = AttentionSpan(tq: tq, tk: tk, d: d, scale: s, mask: mask, causal: causal, blockRows: rows)

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
        guard let packs = sl_thread_scratch(3, kPackFloats + vPackFloats) else {
            preconditionFailure("attention: out of memory packing K/V (\(tk), \(d))")
        }
        sl_pack_b_f32(isa, Int32(d), Int32(tk), kh, kLayout.rowStride, 1, packs)
        sl_pack_b_f32(isa, Int32(tk), Int32(d), vh, vLayout.rowStride, 0, packs + kPackFloats)
        span.attendPacked(isa: isa, q: qh, qRowStride: qLayout.rowStride, keys: packs, values: packs + kPackFloats,
                          output: oh, outputRowStride: outputLayout.rowStride, scores: scores, pool: inner)
    }
    forEachHead(heads, scoreFloats: rows * tk, pool: pool, head)
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
            span.attendPacked(isa: kv.isa, q: q + h * qLayout.headStride, qRowStride: qLayout.rowStride, keys: kv.keys(h),
                              values: kv.values(h), output: output + h * outputLayout.headStride,
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
    func attendPacked(isa: Int32, q: UnsafePointer<Float>, qRowStride: Int, keys: UnsafePointer<Float>,
                      values: UnsafePointer<Float>, output: UnsafeMutablePointer<Float>, outputRowStride: Int,
                      scores: UnsafeMutablePointer<Float>, pool: ThreadPool) {
        var r0 = 0
        while r0 < tq {
            let rows = min(blockRows, tq - r0)
            var qk = sl_gemm_args() // scores (rows, tk) = scale * q[r0...] kᵀ
            qk.isa = isa
            qk.m = Int32(rows); qk.n = Int32(tk); qk.k = Int32(d)
            qk.alpha = scale; qk.beta = 0
            qk.a = q + r0 * qRowStride; qk.lda = qRowStride
            qk.packedB = keys
            qk.c = scores; qk.ldc = tk
            GEMMPartition.run(qk, pool: pool)
            maskRows(scores, from: r0, rows: rows)
            softmax(scores, rows: rows, cols: tk, pool: pool)
            var pv = sl_gemm_args() // out[r0...] (rows, d) = scores v
            pv.isa = isa
            pv.m = Int32(rows); pv.n = Int32(d); pv.k = Int32(tk)
            pv.alpha = 1; pv.beta = 0
            pv.a = UnsafePointer(scores); pv.lda = tk
            pv.packedB = values
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
                               mask: UnsafePointer<Float>?, causal: Bool, scale: Float,
                               output: UnsafeMutablePointer<Float>, outputLayout: HeadLayout) {
    var logits = [Double](repeating: 0, count: tk)
    for h in 0..<heads {
        for i in 0..<tq {
            let qi = q + h * qLayout.headStride + i * qLayout.rowStride
            var m = -Double.infinity
            for j in 0..<tk {
                let kh = k + h * kLayout.headStride
                var dot = 0.0
                for c in 0..<d {
                    dot += Double(qi[c]) * Double(kh[j * kLayout.rowStride + c])
                }
                var l = dot * Double(scale)
                if let mask { l += Double(mask[i * tk + j]) }
                if causal && j > i + (tk - tq) { l = -.infinity }
                logits[j] = l
                m = max(m, l)
            }
            var sum = 0.0
            for j in 0..<tk { logits[j] = logits[j] == -.infinity ? 0 : Foundation.exp(logits[j] - m); sum += logits[j] }
            let o = output + h * outputLayout.headStride + i * outputLayout.rowStride
            for c in 0..<d {
                var acc = 0.0
                for j in 0..<tk { acc += logits[j] * Double(v[h * vLayout.headStride + j * vLayout.rowStride + c]) }
                o[c] = Float(acc / sum)
            }
        }
    }
}
