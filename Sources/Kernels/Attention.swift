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
    func head(_ h: Int, _ scores: UnsafeMutablePointer<Float>, _ inner: ThreadPool) {
        // scores (tq, tk) = scale * q_h k_hᵀ
        sgemm(transB: true, m: tq, n: tk, k: d, alpha: s, a: q + h * qLayout.headStride, lda: qLayout.rowStride,
              b: k + h * kLayout.headStride, ldb: kLayout.rowStride, c: scores, ldc: tk, pool: inner)
        if let mask { add(scores, mask, count: tq * tk, into: scores) }
        if causal {
            for i in 0..<tq {
                let first = i + (tk - tq) + 1
                if first < tk { (scores + i * tk + max(first, 0)).update(repeating: -.infinity, count: tk - max(first, 0)) }
            }
        }
        softmax(scores, rows: tq, cols: tk, pool: inner)
        // out_h (tq, d) = scores v_h
        sgemm(m: tq, n: d, k: tk, a: scores, lda: tk, b: v + h * vLayout.headStride, ldb: vLayout.rowStride,
              c: output + h * outputLayout.headStride, ldc: outputLayout.rowStride, pool: inner)
    }
    if heads >= pool.threadCount && pool.threadCount > 1 {
        pool.run(tasks: heads) { h in
            // Thread-local slot 1 (the GEMM driver uses slot 0); inner kernels run serially.
            guard let scores = sl_thread_scratch(1, tq * tk) else { preconditionFailure("attention: out of memory for (\(tq), \(tk)) scores") }
            head(h, scores, pool)
        }
    } else {
        guard let scores = sl_thread_scratch(1, tq * tk) else { preconditionFailure("attention: out of memory for (\(tq), \(tk)) scores") }
        for h in 0..<heads { head(h, scores, pool) }
    }
}

/// Direct reference: Double accumulation, one query row at a time.
public func attentionReference(q: UnsafePointer<Float>, qLayout: HeadLayout, k: UnsafePointer<Float>, kLayout: HeadLayout,
                               v: UnsafePointer<Float>, vLayout: HeadLayout, heads: Int, tq: Int, tk: Int, headDim d: Int,
                               mask: UnsafePointer<Float>?, causal: Bool, scale: Float, output: UnsafeMutablePointer<Float>,
                               outputLayout: HeadLayout) {
    var logits = [Double](repeating: 0, count: tk)
    for h in 0..<heads {
        for i in 0..<tq {
            let qi = q + h * qLayout.headStride + i * qLayout.rowStride
            var m = -Double.infinity
            for j in 0..<tk {
                let kj = k + h * kLayout.headStride + j * kLayout.rowStride
                var dot = 0.0
                for c in 0..<d { dot += Double(qi[c]) * Double(kj[c]) }
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
