// Elementwise arithmetic and reductions over contiguous Float buffers. These are memory-
// bound loops Swift's optimiser vectorises well, so there is no separate C path, except for
// logSumExp, whose exp needs CKernels' vectorisable polynomial (libm's is a call per value).
import CKernels
import Foundation

/// y = a + b (count); y may alias a or b.
public func add(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, count: Int, into y: UnsafeMutablePointer<Float>) {
    for i in 0..<max(count, 0) { y[i] = a[i] + b[i] }
}

/// y = a * b (count); y may alias a or b.
public func mul(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, count: Int, into y: UnsafeMutablePointer<Float>) {
    for i in 0..<max(count, 0) { y[i] = a[i] * b[i] }
}

/// x *= s (count).
public func scale(_ x: UnsafeMutablePointer<Float>, count: Int, by s: Float) {
    for i in 0..<max(count, 0) { x[i] *= s }
}

/// x (rows, cols) += bias (cols) broadcast over rows.
public func addBias(_ x: UnsafeMutablePointer<Float>, rows: Int, cols: Int, bias: UnsafePointer<Float>) {
    for r in 0..<max(rows, 0) {
        let row = x + r * cols
        for j in 0..<cols { row[j] += bias[j] }
    }
}

/// Sum with eight partial sums (vectorisable, and less rounding drift than one).
public func sum(_ x: UnsafePointer<Float>, count: Int) -> Float {
    var acc = SIMD8<Float>()
    var i = 0
    while i + 8 <= count {
        acc += UnsafeRawPointer(x + i).loadUnaligned(as: SIMD8<Float>.self)
        i += 8
    }
    var s = acc.sum()
    while i < count { s += x[i]; i += 1 }
    return s
}

/// Largest element (-inf for an empty buffer); NaNs are skipped, like numpy's nanmax.
public func maxValue(_ x: UnsafePointer<Float>, count: Int) -> Float {
    var m = -Float.infinity
    for i in 0..<max(count, 0) where x[i] > m { m = x[i] }
    return m
}

/// Index of the first largest element (nil for an empty buffer); NaNs are skipped (0 when
/// every element is NaN).
public func argmax(_ x: UnsafePointer<Float>, count: Int) -> Int? {
    guard count > 0 else { return nil }
    if KernelConfig.forceReference || count > Int(Int32.max) { return argmaxReference(x, count: count) }
    return Int(sl_argmax(Int32(KernelConfig.isa.rawValue), x, Int32(count)))
}

/// The same as plain loops: the reference the vectorised path is tested against.
public func argmaxReference(_ x: UnsafePointer<Float>, count: Int) -> Int? {
    guard count > 0 else { return nil }
    var best = 0
    var m = -Float.infinity
    var found = false
    for i in 0..<count where x[i] > m || (!found && x[i] == m) { m = x[i]; best = i; found = true }
    return best
}

/// log(sum(exp(x))) computed stably (max subtracted).
public func logSumExp(_ x: UnsafePointer<Float>, count: Int) -> Float {
    guard count > 0 else { return -.infinity }
    if KernelConfig.forceReference || count > Int(Int32.max) { return logSumExpReference(x, count: count) }
    var m: Float = 0
    let s = sl_sum_exp(Int32(KernelConfig.isa.rawValue), x, Int32(count), &m)
    if m == -.infinity { return -.infinity }
    return m + Foundation.log(s)
}

/// The same in plain Swift with libm's exp: the reference the vectorised path is tested against.
public func logSumExpReference(_ x: UnsafePointer<Float>, count: Int) -> Float {
    guard count > 0 else { return -.infinity }
    let m = maxValue(x, count: count)
    if m == -.infinity { return -.infinity }
    var s: Float = 0
    for i in 0..<count { s += Foundation.exp(x[i] - m) }
    return m + Foundation.log(s)
}
