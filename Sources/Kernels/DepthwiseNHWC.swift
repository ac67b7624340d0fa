// Depthwise conv2d on one channels-last image (TensorFlow's layout): input (H, W, C), weight
// (kH, kW, C) — a TensorFlow DepthwiseConv2dNative filter with multiplier 1, as stored —
// bias (C) -> output (OH, OW, C), with an optional ReLU6 fused into the store. Padding is
// the zero rows / columns before the data; `same` derives TensorFlow's SAME padding, which
// puts the odd row or column after the data. The optimised path is CKernels'
// channel-vector loop, output rows split over the pool; the reference is the direct loop.
import CKernels

/// Sizes of a channels-last depthwise conv2d.
public struct DepthwiseNHWCShape: Sendable, Equatable {
    public var channels, height, width, kernelH, kernelW, strideH, strideW: Int
    /// Zero rows above / columns left of the data.
    public var padTop, padLeft: Int
    public var outHeight, outWidth: Int

    public init(channels: Int, height: Int, width: Int, kernel: Int, stride: Int, padTop: Int, padLeft: Int,
                outHeight: Int, outWidth: Int) {
        self.channels = channels; self.height = height; self.width = width
        kernelH = kernel; kernelW = kernel; strideH = stride; strideW = stride
        self.padTop = padTop; self.padLeft = padLeft; self.outHeight = outHeight; self.outWidth = outWidth
    }

    /// TensorFlow's SAME: out = ceil(in / stride), total padding max((out-1)·stride + k − in, 0),
    /// half of it (rounded down) before the data.
    public static func same(channels: Int, height: Int, width: Int, kernel: Int, stride: Int) -> DepthwiseNHWCShape {
        let s = max(stride, 1)
        let oh = (height + s - 1) / s, ow = (width + s - 1) / s
        let ph = max((oh - 1) * s + kernel - height, 0), pw = max((ow - 1) * s + kernel - width, 0)
        return DepthwiseNHWCShape(channels: channels, height: height, width: width, kernel: kernel, stride: stride,
                                  padTop: ph / 2, padLeft: pw / 2, outHeight: oh, outWidth: ow)
    }

    func validate() throws {
        guard channels > 0, height > 0, width > 0, kernelH > 0, kernelW > 0, strideH > 0, strideW > 0, padTop >= 0, padLeft >= 0,
              outHeight > 0, outWidth > 0 else {
            throw KernelError.invalidArgument(what: "depthwise conv2d (NHWC) \(self)", reason: "sizes must be positive (padding >= 0)")
        }
        // Every output row and column must have its first tap within the padded input.
        guard (outHeight - 1) * strideH - padTop < height, (outWidth - 1) * strideW - padLeft < width,
              padTop < kernelH, padLeft < kernelW else {
            throw KernelError.invalidArgument(what: "depthwise conv2d (NHWC) \(self)", reason: "output larger than the padded input")
        }
    }
}

/// input (H, W, C), weight (kH, kW, C), bias (C) -> output (OH, OW, C), ReLU6 when `relu6`.
public func depthwiseConv2dNHWC(_ input: UnsafePointer<Float>, shape s: DepthwiseNHWCShape, weight: UnsafePointer<Float>,
                                bias: UnsafePointer<Float>?, relu6: Bool = false, output: UnsafeMutablePointer<Float>,
                                pool: ThreadPool = .shared) throws {
    try s.validate()
    if KernelConfig.forceReference {
        depthwiseConv2dNHWCReference(input, shape: s, weight: weight, bias: bias, relu6: relu6, output: output)
        return
    }
    let isa = Int32(KernelConfig.isa.rawValue)
    let rowWork = s.outWidth * s.channels * s.kernelH * s.kernelW
    pool.parallelFor(s.outHeight, minChunk: max(1, 32768 / max(rowWork, 1))) { rows in
        sl_depthwise_conv2d_nhwc(isa, input, Int32(s.height), Int32(s.width), Int32(s.channels), weight, Int32(s.kernelH),
                                 Int32(s.kernelW), Int32(s.strideH), Int32(s.strideW), Int32(s.padTop), Int32(s.padLeft),
                                 bias, relu6 ? 1 : 0, output, Int32(s.outWidth), Int32(rows.lowerBound), Int32(rows.upperBound))
    }
}

/// Direct-loop reference.
public func depthwiseConv2dNHWCReference(_ input: UnsafePointer<Float>, shape s: DepthwiseNHWCShape, weight: UnsafePointer<Float>,
                                         bias: UnsafePointer<Float>?, relu6: Bool = false, output: UnsafeMutablePointer<Float>) {
    let c = s.channels
    for oy in 0..<s.outHeight {
        for ox in 0..<s.outWidth {
            for ch in 0..<c {
                var acc: Float = bias?[ch] ?? 0
                for ky in 0..<s.kernelH {
                    let iy = oy * s.strideH - s.padTop + ky
                    if iy < 0 || iy >= s.height { continue }
                    for kx in 0..<s.kernelW {
                        let ix = ox * s.strideW - s.padLeft + kx
                        if ix < 0 || ix >= s.width { continue }
                        acc += input[(iy * s.width + ix) * c + ch] * weight[(ky * s.kernelW + kx) * c + ch]
                    }
                }
                output[(oy * s.outWidth + ox) * c + ch] = relu6 ? min(max(acc, 0), 6) : acc
            }
        }
    }
}
