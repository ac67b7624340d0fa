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
/// `keysTransposed`: k holds each head's keys as (headDim, tk), element (head, key j, c) at
/// k[head * headStride + c * rowStride + j]. Keys that stay fixed while many short query
/// blocks attend to them (a decoder's cross-attention over the encoder output) are worth
/// transposing once: q·kᵀ then streams contiguous key rows instead of taking one short dot
/// product per key.
public func attention(q: UnsafePointer<Float>, qLayout: HeadLayout, k: UnsafePointer<Float>, kLayout: HeadLayout,
                      v: UnsafePointer<Float>, vLayout: HeadLayout, heads: Int, tq: Int, tk: Int, headDim d: Int,
                      mask: UnsafePointer<Float>? = nil, causal: Bool = false, scale: Float? = nil,
                      keysTransposed: Bool = false,
                      output: UnsafeMutablePointer<Float>, outputLayout: HeadLayout, pool: ThreadPool = .shared) {
    guard heads > 0, tq > 0, tk > 0, d > 0 else { return }
    let s = scale ?? 1 / Float(d).squareRoot()
    if KernelConfig.forceReference {
        attentionReference(q: q, qLayout: qLayout, k: k, kLayout: kLayout, v: v, vLayout: vLayout, heads: heads, tq: tq, tk: tk,
                           headDim: d, mask: mask, causal: causal, scale: s, keysTransposed: keysTransposed,
                           output: output, outputLayout: outputLayout)
        return
    }
    // Long query sequences (encoders) go in blocks of `blockRows` query rows so each block's
    // scores (blockRows, tk) stay cache-resident through mask, softmax and the second GEMM;
    // K and V are packed into GEMM panels once per head and reused by every block. Short ones
    // (decoder steps) take the direct small-M GEMM path, where packing would cost as much as
    // the product.
    let blocked = tq >= 32
    let blockRows = blocked ? min(tq, max(12, ((1 << 17) / tk + 11) / 12 * 12)) : tq
    let isa = Int32(KernelConfig.isa.rawValue)
    let kPackFloats = sl_packed_b_floats(isa, Int32(d), Int32(tk)) // K_hᵀ as (d, tk) panels
    let vPackFloats = sl_packed_b_floats(isa, Int32(tk), Int32(d)) // V_h as (tk, d) panels

    func maskRows(_ scores: UnsafeMutablePointer<Float>, from r0: Int, rows: Int) {
        if let mask { add(scores, mask + r0 * tk, count: rows * tk, into: scores) }
        if causal {
            for i in 0..<rows {
                let first = max(r0 + i + (tk - tq) + 1, 0)
                if first < tk { (scores + i * tk + first).update(repeating: -.infinity, count: tk - first) }
            }
        }
    }

    func head(_ h: Int, _ scores: UnsafeMutablePointer<Float>, _ inner: ThreadPool) {
        let qh = q + h * qLayout.headStride, kh = k + h * kLayout.headStride
        let vh = v + h * vLayout.headStride, oh = output + h * outputLayout.headStride
        guard blocked else {
            // scores (tq, tk) = scale * q_h k_hᵀ
            sgemm(transB: !keysTransposed, m: tq, n: tk, k: d, alpha: s, a: qh, lda: qLayout.rowStride, b: kh, ldb: kLayout.rowStride,
                  c: scores, ldc: tk, pool: inner)
            maskRows(scores, from: 0, rows: tq)
            softmax(scores, rows: tq, cols: tk, pool: inner)
            // out_h (tq, d) = scores v_h
            sgemm(m: tq, n: d, k: tk, a: scores, lda: tk, b: vh, ldb: vLayout.rowStride, c: oh, ldc: outputLayout.rowStride, pool: inner)
            return
        }
        // Thread-local slot 3 holds this head's packed K and V (slot 1 the scores).
        guard let packs = sl_thread_scratch(3, kPackFloats + vPackFloats) else {
            preconditionFailure("attention: out of memory packing K/V (\(tk), \(d))")
        }
        sl_pack_b_f32(isa, Int32(d), Int32(tk), kh, kLayout.rowStride, keysTransposed ? 0 : 1, packs)
        sl_pack_b_f32(isa, Int32(tk), Int32(d), vh, vLayout.rowStride, 0, packs + kPackFloats)
        var r0 = 0
        while r0 < tq {
            let rows = min(blockRows, tq - r0)
            var qk = sl_gemm_args() // scores (rows, tk) = scale * q_h[r0...] k_hᵀ
            qk.isa = isa
            qk.m = Int32(rows); qk.n = Int32(tk); qk.k = Int32(d)
            qk.alpha = s; qk.beta = 0
            qk.a = qh + r0 * qLayout.rowStride; qk.lda = qLayout.rowStride
            qk.packedB = UnsafePointer(packs)
            qk.c = scores; qk.ldc = tk
            GEMMPartition.run(qk, pool: inner)
            maskRows(scores, from: r0, rows: rows)
            softmax(scores, rows: rows, cols: tk, pool: inner)
            var pv = sl_gemm_args() // out_h[r0...] (rows, d) = scores v_h
            pv.isa = isa
            pv.m = Int32(rows); pv.n = Int32(d); pv.k = Int32(tk)
            pv.alpha = 1; pv.beta = 0
            pv.a = UnsafePointer(scores); pv.lda = tk
            pv.packedB = UnsafePointer(packs + kPackFloats)
            pv.c = oh + r0 * outputLayout.rowStride; pv.ldc = outputLayout.rowStride
            GEMMPartition.run(pv, pool: inner)
            r0 += rows
        }
    }
    if heads >= pool.threadCount && pool.threadCount > 1 {
        pool.run(tasks: heads) { h in
            // Thread-local slot 1 (the GEMM driver uses slot 0); inner kernels run serially.
            guard let scores = sl_thread_scratch(1, blockRows * tk) else { preconditionFailure("attention: out of memory for (\(blockRows), \(tk)) scores") }
            head(h, scores, pool)
        }
    } else {
        guard let scores = sl_thread_scratch(1, blockRows * tk) else { preconditionFailure("attention: out of memory for (\(blockRows), \(tk)) scores") }
        for h in 0..<heads { head(h, scores, pool) }
    }
}

/// Direct reference: Double accumulation, one query row at a time.
public func attentionReference(q: UnsafePointer<Float>, qLayout: HeadLayout, k: UnsafePointer<Float>, kLayout: HeadLayout,
                               v: UnsafePointer<Float>, vLayout: HeadLayout, heads: Int, tq: Int, tk: Int, headDim d: Int,
                               mask: UnsafePointer<Float>?, causal: Bool, scale: Float, keysTransposed: Bool = false,
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
                    let key = keysTransposed ? kh[c * kLayout.rowStride + j] : kh[j * kLayout.rowStride + c]
                    dot += Double(qi[c]) * Double(key)
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
