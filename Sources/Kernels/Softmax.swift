// Row-wise softmax in place, numerically stable (max subtracted), vectorised exp.
import CKernels
import Foundation

/// x (rows, cols): each row replaced by softmax(row).
public func softmax(_ x: UnsafeMutablePointer<Float>, rows: Int, cols: Int, pool: ThreadPool = .shared) {
    guard rows > 0, cols > 0 else { return }
    if KernelConfig.forceReference {
        softmaxReference(x, rows: rows, cols: cols)
        return
    }
    let isa = Int32(KernelConfig.isa.rawValue)
    pool.parallelFor(rows, minChunk: max(1, (1 << 14) / cols)) { r in
        sl_softmax(isa, x + r.lowerBound * cols, Int32(r.count), Int32(cols))
    }
}

public func softmaxReference(_ x: UnsafeMutablePointer<Float>, rows: Int, cols: Int) {
    for r in 0..<rows {
        let row = x + r * cols
        var m = -Float.infinity
        for j in 0..<cols { m = max(m, row[j]) }
        if m == -.infinity { m = 0 } // fully masked row: all exp(-inf) = 0 -> NaN like PyTorch
        var s: Double = 0
        for j in 0..<cols { let e = Foundation.exp(row[j] - m); row[j] = e; s += Double(e) }
        let inv = Float(1 / s)
        for j in 0..<cols { row[j] *= inv }
    }
}
