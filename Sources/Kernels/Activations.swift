// Pointwise activations, each in place (`f(x, count:)`) or out of place
// (`f(x, count:, into:)`; x and y may be the same buffer). GELU (erf and tanh forms), SiLU
// and sigmoid use CKernels' vectorised exp/erf (max error a few ulp-scale, see tests) on
// the AVX paths; every function has a libm reference selected by KernelConfig.forceReference.
import CKernels
import Foundation

public enum Activation: Sendable, CaseIterable {
    case geluErf, geluTanh, silu, sigmoid, relu, relu6, hardSwish, hardSigmoid, tanh

    /// The scalar definition (the reference).
    @inline(__always)
    public func reference(_ x: Float) -> Float {
        switch self {
        case .geluErf: return 0.5 * x * (1 + Foundation.erf(x * 0.707_106_78))
        case .geluTanh:
            let c: Float = 0.797_884_56 // sqrt(2/pi)
            return 0.5 * x * (1 + Foundation.tanh(c * (x + 0.044715 * x * x * x)))
        case .silu: return x / (1 + Foundation.exp(-x))
        case .sigmoid: return 1 / (1 + Foundation.exp(-x))
        case .relu: return x > 0 ? x : 0
        case .relu6: return min(max(x, 0), 6)
        case .hardSwish: return x * min(max(x + 3, 0), 6) / 6
        case .hardSigmoid: return min(max(x + 3, 0), 6) / 6
        case .tanh: return Foundation.tanh(x)
        }
    }

    var code: Int32 {
        switch self {
        case .geluErf: return Int32(SL_ACT_GELU_ERF)
        case .geluTanh: return Int32(SL_ACT_GELU_TANH)
        case .silu: return Int32(SL_ACT_SILU)
        case .sigmoid: return Int32(SL_ACT_SIGMOID)
        case .relu: return Int32(SL_ACT_RELU)
        case .relu6: return Int32(SL_ACT_RELU6)
        case .hardSwish: return Int32(SL_ACT_HARDSWISH)
        case .hardSigmoid: return Int32(SL_ACT_HARDSIGMOID)
        case .tanh: return Int32(SL_ACT_TANH)
        }
    }

    /// y[i] = f(x[i]); y may be x itself (in place), else they must not overlap. Large
    /// buffers are split over the pool.
    public func apply(_ x: UnsafePointer<Float>, count: Int, into y: UnsafeMutablePointer<Float>, pool: ThreadPool = .shared) {
        guard count > 0 else { return }
        if KernelConfig.forceReference {
            for i in 0..<count { y[i] = reference(x[i]) }
            return
        }
        let isa = Int32(KernelConfig.isa.rawValue), code = self.code
        pool.parallelFor(count, minChunk: 1 << 15) { r in
            sl_activation(isa, code, x + r.lowerBound, y + r.lowerBound, r.count)
        }
    }
}

public func gelu(_ x: UnsafeMutablePointer<Float>, count: Int, pool: ThreadPool = .shared) { Activation.geluErf.apply(x, count: count, into: x, pool: pool) }
public func gelu(_ x: UnsafePointer<Float>, count: Int, into y: UnsafeMutablePointer<Float>, pool: ThreadPool = .shared) {
    Activation.geluErf.apply(x, count: count, into: y, pool: pool)
}
public func geluTanh(_ x: UnsafeMutablePointer<Float>, count: Int, pool: ThreadPool = .shared) { Activation.geluTanh.apply(x, count: count, into: x, pool: pool) }
public func geluTanh(_ x: UnsafePointer<Float>, count: Int, into y: UnsafeMutablePointer<Float>, pool: ThreadPool = .shared) {
    Activation.geluTanh.apply(x, count: count, into: y, pool: pool)
}
public func silu(_ x: UnsafeMutablePointer<Float>, count: Int, pool: ThreadPool = .shared) { Activation.silu.apply(x, count: count, into: x, pool: pool) }
public func silu(_ x: UnsafePointer<Float>, count: Int, into y: UnsafeMutablePointer<Float>, pool: ThreadPool = .shared) {
    Activation.silu.apply(x, count: count, into: y, pool: pool)
}
public func sigmoid(_ x: UnsafeMutablePointer<Float>, count: Int, pool: ThreadPool = .shared) { Activation.sigmoid.apply(x, count: count, into: x, pool: pool) }
public func sigmoid(_ x: UnsafePointer<Float>, count: Int, into y: UnsafeMutablePointer<Float>, pool: ThreadPool = .shared) {
    Activation.sigmoid.apply(x, count: count, into: y, pool: pool)
}
public func relu(_ x: UnsafeMutablePointer<Float>, count: Int, pool: ThreadPool = .shared) { Activation.relu.apply(x, count: count, into: x, pool: pool) }
public func relu(_ x: UnsafePointer<Float>, count: Int, into y: UnsafeMutablePointer<Float>, pool: ThreadPool = .shared) {
    Activation.relu.apply(x, count: count, into: y, pool: pool)
}
public func relu6(_ x: UnsafeMutablePointer<Float>, count: Int, pool: ThreadPool = .shared) { Activation.relu6.apply(x, count: count, into: x, pool: pool) }
public func relu6(_ x: UnsafePointer<Float>, count: Int, into y: UnsafeMutablePointer<Float>, pool: ThreadPool = .shared) {
    Activation.relu6.apply(x, count: count, into: y, pool: pool)
}
public func hardSwish(_ x: UnsafeMutablePointer<Float>, count: Int, pool: ThreadPool = .shared) { Activation.hardSwish.apply(x, count: count, into: x, pool: pool) }
public func hardSwish(_ x: UnsafePointer<Float>, count: Int, into y: UnsafeMutablePointer<Float>, pool: ThreadPool = .shared) {
    Activation.hardSwish.apply(x, count: count, into: y, pool: pool)
}
public func hardSigmoid(_ x: UnsafeMutablePointer<Float>, count: Int, pool: ThreadPool = .shared) { Activation.hardSigmoid.apply(x, count: count, into: x, pool: pool) }
public func hardSigmoid(_ x: UnsafePointer<Float>, count: Int, into y: UnsafeMutablePointer<Float>, pool: ThreadPool = .shared) {
    Activation.hardSigmoid.apply(x, count: count, into: y, pool: pool)
}
public func tanhActivation(_ x: UnsafeMutablePointer<Float>, count: Int, pool: ThreadPool = .shared) { Activation.tanh.apply(x, count: count, into: x, pool: pool) }
