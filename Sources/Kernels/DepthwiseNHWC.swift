// Depthwise conv2d on channels-last activations (H, W, C), square kernel, one stride and
// padding for both axes: the layout MobileNetV2-style networks run in when their 1×1
// convolutions are GEMMs over (pixels, channels). Weights are tap-major (k·k, C) so a tap's
// channel run is contiguous like the activations'. Output rows are split over the pool;
// CKernels' per-ISA loop does the work, the reference is the textbook direct loop.
import CKernels

/// out (outHeight, outWidth, C) = bias + Σ taps weight[ky·k + kx][c] · x[oy·s − p + ky][ox·s − p + kx][c],
/// clamped to [0, 6] when `relu6`. x (H, W, C), weight (k·k, C), bias (C) or nil.
public func depthwiseConv2dNHWC(_ x: UnsafePointer<Float>, height: Int, width: Int, channels: Int, kernel: Int, stride: Int,
                                padding: Int, weight: UnsafePointer<Float>, bias: UnsafePointer<Float>?, relu6: Bool,
                                output: UnsafeMutablePointer<Float>, pool: ThreadPool = .shared) throws {
    let (oh, ow) = try depthwiseNHWCOutput(height: height, width: width, channels: channels, kernel: kernel, stride: stride, padding: padding)
    if KernelConfig.forceReference {
        depthwiseConv2dNHWCReference(x, height: height, width: width, channels: channels, kernel: kernel, stride: stride,
                                     padding: padding, weight: weight, bias: bias, relu6: relu6, output: output)
        return
    }
    let isa = Int32(KernelConfig.isa.rawValue)
    pool.parallelFor(oh, minChunk: max(1, 16_384 / max(ow * channels * kernel * kernel, 1))) { rows in
        sl_depthwise_nhwc(isa, x, Int32(height), Int32(width), Int32(channels), weight, Int32(kernel), Int32(stride),
                          Int32(padding), bias, relu6 ? 1 : 0, output, Int32(ow), Int32(rows.lowerBound), Int32(rows.upperBound))
    }
}

/// The output size, or an error for sizes the kernel cannot take.
public func depthwiseNHWCOutput(height: Int, width: Int, channels: Int, kernel: Int, stride: Int, padding: Int) throws -> (height: Int, width: Int) {
    let oh = (height + 2 * padding - kernel) / stride + 1, ow = (width + 2 * padding - kernel) / stride + 1
    guard height > 0, width > 0, channels > 0, kernel > 0, stride > 0, padding >= 0, oh > 0, ow > 0,
          height <= Int(Int32.max) / max(width * channels, 1) else {
        throw KernelError.invalidArgument(what: "depthwise conv2d NHWC \(height)x\(width)x\(channels) k\(kernel) s\(stride) p\(padding)",
                                          reason: "sizes must be positive and the input at least as large as the kernel")
    }
    return (oh, ow)
}

/// Direct-loop reference.
public func depthwiseConv2dNHWCReference(_ x: UnsafePointer<Float>, height: Int, width: Int, channels: Int, kernel: Int, stride: Int,
                                         padding: Int, weight: UnsafePointer<Float>, bias: UnsafePointer<Float>?, relu6: Bool,
                                         output: UnsafeMutablePointer<Float>) {
    let oh = (height + 2 * padding - kernel) / stride + 1, ow = (width + 2 * padding - kernel) / stride + 1
    for oy in 0..<oh {
        for ox in 0..<ow {
            for c in 0..<channels {
                var acc = bias?[c] ?? 0
                for ky in 0..<kernel {
                    let iy = oy * stride - padding + ky
                    if iy < 0 || iy >= height { continue }
                    for kx in 0..<kernel {
                        let ix = ox * stride - padding + kx
                        if ix < 0 || ix >= width { continue }
                        acc += weight[(ky * kernel + kx) * channels + c] * x[(iy * width + ix) * channels + c]
                    }
                }
                output[(oy * ow + ox) * channels + c] = relu6 ? min(max(acc, 0), 6) : acc
            }
        }
    }
}
