// The few numeric primitives Silero VAD needs, written for its tiny shapes (≤ 516-element dot
// products, ≤ 4 frames). They stand in until the shared Kernels target is merged (its conv1d /
// lstmCell / dot have the same contracts); `dotReference` is the plain version the SIMD one is
// tested against.
import Foundation

/// Σ a[i]·b[i] with four 16-lane accumulators (vectorises to AVX-512 / AVX2 / NEON).
@inline(__always)
func dot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ count: Int) -> Float {
    var acc0 = SIMD16<Float>(), acc1 = SIMD16<Float>(), acc2 = SIMD16<Float>(), acc3 = SIMD16<Float>()
    let ra = UnsafeRawPointer(a), rb = UnsafeRawPointer(b)
    let stride = MemoryLayout<Float>.stride
    var i = 0
    while i + 64 <= count {
        acc0 += ra.loadUnaligned(fromByteOffset: i * stride, as: SIMD16<Float>.self)
            * rb.loadUnaligned(fromByteOffset: i * stride, as: SIMD16<Float>.self)
        acc1 += ra.loadUnaligned(fromByteOffset: (i + 16) * stride, as: SIMD16<Float>.self)
            * rb.loadUnaligned(fromByteOffset: (i + 16) * stride, as: SIMD16<Float>.self)
        acc2 += ra.loadUnaligned(fromByteOffset: (i + 32) * stride, as: SIMD16<Float>.self)
            * rb.loadUnaligned(fromByteOffset: (i + 32) * stride, as: SIMD16<Float>.self)
        acc3 += ra.loadUnaligned(fromByteOffset: (i + 48) * stride, as: SIMD16<Float>.self)
            * rb.loadUnaligned(fromByteOffset: (i + 48) * stride, as: SIMD16<Float>.self)
        i += 64
    }
    while i + 16 <= count {
        acc0 += ra.loadUnaligned(fromByteOffset: i * stride, as: SIMD16<Float>.self)
            * rb.loadUnaligned(fromByteOffset: i * stride, as: SIMD16<Float>.self)
        i += 16
    }
    var sum = ((acc0 + acc1) + (acc2 + acc3)).sum()
    while i < count {
        sum += a[i] * b[i]
        i += 1
    }
    return sum
}

/// Plain loop, the reference for `dot`.
func dotReference(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ count: Int) -> Float {
    var sum: Float = 0
    for i in 0..<count { sum += a[i] * b[i] }
    return sum
}

@inline(__always) func sigmoid(_ x: Float) -> Float { 1 / (1 + Foundation.exp(-x)) }

/// conv1d with kernel 3, padding 1, then ReLU: input (cin, length) → output (cout, outLength),
/// weight (cout, cin, 3), bias (cout). `columns` (outLength, cin·3) is caller-owned scratch:
/// each output frame's receptive field is gathered once (im2col) so every output is one dot
/// product with a contiguous weight row.
func conv3ReLU(
    _ input: UnsafePointer<Float>, cin: Int, length: Int, stride: Int,
    weight: UnsafePointer<Float>, bias: UnsafePointer<Float>, cout: Int,
    output: UnsafeMutablePointer<Float>, columns: UnsafeMutablePointer<Float>
) {
    let outLength = (length + 2 - 3) / stride + 1
    let rowLength = cin * 3
    for t in 0..<outLength {
        let column = columns + t * rowLength
        for c in 0..<cin {
            for k in 0..<3 {
                let x = t * stride + k - 1  // padding 1 on both sides
                column[c * 3 + k] = x >= 0 && x < length ? input[c * length + x] : 0
            }
        }
    }
    for o in 0..<cout {
        let row = weight + o * rowLength
        for t in 0..<outLength {
            output[o * outLength + t] = max(0, bias[o] + dot(row, columns + t * rowLength, rowLength))
        }
    }
}
