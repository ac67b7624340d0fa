// One step of a PyTorch LSTM cell (batch 1), gate order (i, f, g, o):
//   gates = W_ih x + b_ih + W_hh h + b_hh      (4H)
//   c' = σ(f) ⊙ c + σ(i) ⊙ tanh(g);  h' = σ(o) ⊙ tanh(c')
// Silero VAD runs this once per 32 ms frame with H = 128, so it is a matrix-vector product
// plus vectorised sigmoid / tanh; gate scratch lives on the stack (no heap allocation).
import CKernels
import Foundation

/// Updates h (hidden) and c (hidden) in place from x (inputSize).
/// weightIH (4H, inputSize), weightHH (4H, H), biasIH / biasHH (4H) or nil.
public func lstmCell(x: UnsafePointer<Float>, inputSize: Int, h: UnsafeMutablePointer<Float>, c: UnsafeMutablePointer<Float>,
                     hiddenSize: Int, weightIH: UnsafePointer<Float>, weightHH: UnsafePointer<Float>,
                     biasIH: UnsafePointer<Float>?, biasHH: UnsafePointer<Float>?) {
    let H = hiddenSize
    guard H > 0, inputSize >= 0 else { return }
    let reference = KernelConfig.forceReference
    withUnsafeTemporaryAllocation(of: Float.self, capacity: 4 * H) { gbuf in
        let gates = gbuf.baseAddress! // (4H)
        for r in 0..<4 * H {
            var s: Float = (biasIH?[r] ?? 0) + (biasHH?[r] ?? 0)
            if reference {
                for j in 0..<inputSize { s += weightIH[r * inputSize + j] * x[j] }
                for j in 0..<H { s += weightHH[r * H + j] * h[j] }
            } else {
                s += dot(weightIH + r * inputSize, x, count: inputSize) + dot(weightHH + r * H, UnsafePointer(h), count: H)
            }
            gates[r] = s
        }
        if reference {
            for j in 0..<H {
                let i = 1 / (1 + Foundation.exp(-gates[j])), f = 1 / (1 + Foundation.exp(-gates[H + j]))
                let g = Foundation.tanh(gates[2 * H + j]), o = 1 / (1 + Foundation.exp(-gates[3 * H + j]))
                c[j] = f * c[j] + i * g
                h[j] = o * Foundation.tanh(c[j])
            }
        } else {
            let isa = Int32(KernelConfig.isa.rawValue)
            sl_activation(isa, Int32(SL_ACT_SIGMOID), gates, gates, 2 * H)                // i, f
            sl_activation(isa, Int32(SL_ACT_TANH), gates + 2 * H, gates + 2 * H, H)       // g
            sl_activation(isa, Int32(SL_ACT_SIGMOID), gates + 3 * H, gates + 3 * H, H)    // o
            for j in 0..<H { c[j] = gates[H + j] * c[j] + gates[j] * gates[2 * H + j] }
            sl_activation(isa, Int32(SL_ACT_TANH), c, h, H)
            for j in 0..<H { h[j] *= gates[3 * H + j] }
        }
    }
}

/// Dot product with eight partial sums (vectorises; used by matrix-vector kernels).
@inline(__always)
public func dot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, count: Int) -> Float {
    var acc = SIMD8<Float>()
    var i = 0
    while i + 8 <= count {
        acc += UnsafeRawPointer(a + i).loadUnaligned(as: SIMD8<Float>.self) * UnsafeRawPointer(b + i).loadUnaligned(as: SIMD8<Float>.self)
        i += 8
    }
    var s = acc.sum()
    while i < count { s += a[i] * b[i]; i += 1 }
    return s
}
