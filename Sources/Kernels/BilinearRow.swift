// One output row of a bilinear resize of interleaved RGB bytes to normalised floats, as
// TensorFlow 1's ResizeBilinear computes it (see CKernels' sl_bilinear_row_rgb8): the person
// detector's pre-processing. Swift compiles for the baseline x86-64 target, where this loop
// stays scalar (three channels one at a time); the C kernel blends a pixel's three channels
// as one vector on AVX2, with the same Float32 operations lane by lane, so the results are
// identical on every path (KernelConfig.isa picks it).
import CKernels

/// Writes `count` pixels (3 floats each) into `out`: for output column i, the source pixels
/// at byte offsets left[i] and right[i] of `top` and `bottom` (rows of `rowBytes` bytes),
/// blended with xLerp[i] along x and yLerp along y, then scale · v − 1.
public func bilinearRowRGB8(top: UnsafePointer<UInt8>, bottom: UnsafePointer<UInt8>, yLerp: Float, left: UnsafePointer<Int32>,
                            right: UnsafePointer<Int32>, xLerp: UnsafePointer<Float>, count: Int, rowBytes: Int, scale: Float,
                            into out: UnsafeMutablePointer<Float>) {
    sl_bilinear_row_rgb8(Int32(KernelConfig.isa.rawValue), top, bottom, yLerp, left, right, xLerp, Int32(count), Int32(rowBytes),
                         scale, out)
}
