// Layer norm over the last dimension, and folding an inference-mode batch norm into the
// preceding convolution's weights and bias (done once at load, so no BN kernel runs).
import CKernels

/// out (rows, cols) = (x - mean) / sqrt(var + eps) * gamma + beta per row; biased variance
/// as PyTorch. gamma / beta (cols) may be nil (identity). x and out may alias.
public func layerNorm(_ x: UnsafePointer<Float>, rows: Int, cols: Int, gamma: UnsafePointer<Float>?,
                      beta: UnsafePointer<Float>?, eps: Float, out: UnsafeMutablePointer<Float>,
                      pool: ThreadPool = .shared) {
    guard rows > 0, cols > 0 else { return }
    if KernelConfig.forceReference {
        layerNormReference(x, rows: rows, cols: cols, gamma: gamma, beta: beta, eps: eps, out: out)
        return
    }
    let isa = Int32(KernelConfig.isa.rawValue)
    pool.parallelFor(rows, minChunk: max(1, (1 << 14) / cols)) { r in
        sl_layer_norm(isa, x + r.lowerBound * cols, Int32(r.count), Int32(cols), gamma, beta, eps, out + r.lowerBound * cols)
    }
}

/// Two-pass reference in Double.
public func layerNormReference(_ x: UnsafePointer<Float>, rows: Int, cols: Int, gamma: UnsafePointer<Float>?,
                               beta: UnsafePointer<Float>?, eps: Float, out: UnsafeMutablePointer<Float>) {
    for r in 0..<rows {
        let row = x + r * cols
        var mean = 0.0
        for j in 0..<cols { mean += Double(row[j]) }
        mean /= Double(cols)
        var v = 0.0
        for j in 0..<cols { let d = Double(row[j]) - mean; v += d * d }
        v /= Double(cols)
        let inv = 1.0 / (v + Double(eps)).squareRoot()
        for j in 0..<cols {
            var y = (Double(row[j]) - mean) * inv
            if let gamma { y *= Double(gamma[j]) }
            if let beta { y += Double(beta[j]) }
            out[r * cols + j] = Float(y)
        }
    }
}

/// Folds BatchNorm (gamma, beta, runningMean, runningVar, eps) that follows a convolution
/// into that convolution: weight (outCh, ...) is scaled per output channel and the returned
/// bias (outCh) absorbs the shift. `bias` is the convolution's own bias, if any.
public func foldBatchNorm(weight: inout [Float], bias: [Float]?, outChannels: Int, gamma: [Float], beta: [Float],
                          runningMean: [Float], runningVar: [Float], eps: Float) throws -> [Float] {
    guard outChannels > 0, weight.count % outChannels == 0 else {
        throw KernelError.invalidArgument(what: "foldBatchNorm", reason: "weight count \(weight.count) is not a multiple of outChannels \(outChannels)")
    }
    for (name, v) in [("gamma", gamma), ("beta", beta), ("running_mean", runningMean), ("running_var", runningVar)] + (bias.map { [("bias", $0)] } ?? []) {
        guard v.count == outChannels else {
            throw KernelError.shapeMismatch(what: "foldBatchNorm \(name)", shape: [outChannels], expectedCount: outChannels, actualCount: v.count)
        }
    }
    let per = weight.count / outChannels
    var folded = [Float](repeating: 0, count: outChannels)
    for o in 0..<outChannels {
        let scale = gamma[o] / (runningVar[o] + eps).squareRoot()
        for i in 0..<per { weight[o * per + i] *= scale }
        folded[o] = ((bias?[o] ?? 0) - runningMean[o]) * scale + beta[o]
    }
    return folded
}
