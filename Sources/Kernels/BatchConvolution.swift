// conv2d over a batch of same-sized images held channel-major, (channels, batch, H, W):
// small networks run on many crops at once (MTCNN's R-Net on 24×24 and O-Net on 48×48
// face candidates), and one GEMM over the whole batch keeps the micro-kernel busy where one
// GEMM per 24×24 crop would be mostly packing overhead. The layout is chosen so the GEMM's
// output (outChannels, batch × outH × outW) is already the next layer's input; per-channel
// ops (bias, PReLU) see one contiguous row per channel and pooling sees (channels × batch)
// planes. With batch 1 it is the ordinary (channels, H, W) layout.
import CKernels

/// input (inCh, batch, H, W), weight (outCh, inCh, kH, kW), bias (outCh) -> output (outCh,
/// batch, outH, outW). Groups must be 1. `scratch` (>= shape.scratchCount × batch floats)
/// avoids using the calling thread's reusable scratch.
public func conv2dBatch(_ input: UnsafePointer<Float>, batch: Int, shape s: Conv2dShape, weight: UnsafePointer<Float>,
                        bias: UnsafePointer<Float>?, output: UnsafeMutablePointer<Float>,
                        scratch: UnsafeMutablePointer<Float>? = nil, pool: ThreadPool = .shared) throws {
    try s.validate()
    guard s.groups == 1, batch > 0 else {
        throw KernelError.invalidArgument(what: "conv2dBatch \(s) batch \(batch)", reason: "needs groups 1 and a batch of at least 1")
    }
    if KernelConfig.forceReference {
        conv2dBatchReference(input, batch: batch, shape: s, weight: weight, bias: bias, output: output)
        return
    }
    let positions = batch * s.outHeight * s.outWidth
    let kdim = s.inChannels * s.kernelH * s.kernelW
    let pointwise = s.kernelH == 1 && s.kernelW == 1 && s.strideH == 1 && s.strideW == 1 && s.padH == 0 && s.padW == 0
    var b = input // (inCh, batch * H * W) is already the column matrix of a 1×1 convolution
    if !pointwise {
        var cols = scratch
        if cols == nil {
            // Slot 3 as conv2d uses it; the GEMM uses slot 0.
            guard let tl = sl_thread_scratch(3, kdim * positions) else {
                throw KernelError.invalidArgument(what: "conv2dBatch \(s) batch \(batch)",
                                                  reason: "cannot allocate \(kdim * positions) floats of im2col scratch")
            }
            cols = tl
        }
        im2colBatch(input, batch: batch, shape: s, cols: cols!, pool: pool)
        b = UnsafePointer(cols!)
    }
    if let bias {
        for o in 0..<s.outChannels { (output + o * positions).update(repeating: bias[o], count: positions) }
    }
    sgemm(m: s.outChannels, n: positions, k: kdim, a: weight, lda: kdim, b: b, ldb: positions,
          beta: bias == nil ? 0 : 1, c: output, ldc: positions, pool: pool)
}

/// cols (inCh * kH * kW, batch * outH * outW); zero where a window reads padding.
private func im2colBatch(_ x: UnsafePointer<Float>, batch: Int, shape s: Conv2dShape, cols: UnsafeMutablePointer<Float>,
                         pool: ThreadPool) {
    let oh = s.outHeight, ow = s.outWidth, kk = s.kernelH * s.kernelW
    let plane = s.height * s.width, perImage = oh * ow
    pool.parallelFor(s.inChannels * kk, minChunk: max(1, 4096 / max(batch * perImage, 1))) { range in
        for row in range {
            let c = row / kk, ky = (row % kk) / s.kernelW, kx = row % s.kernelW
            for n in 0..<batch {
                let src = x + (c * batch + n) * plane
                let dst = cols + row * batch * perImage + n * perImage
                for oy in 0..<oh {
                    let iy = oy * s.strideH - s.padH + ky * s.dilationH
                    let d = dst + oy * ow
                    if iy < 0 || iy >= s.height { d.update(repeating: 0, count: ow); continue }
                    let line = src + iy * s.width
                    if s.strideW == 1 && s.padW == 0 {
                        // Valid 1-stride convolution: the window row is a contiguous run.
                        d.update(from: line + kx * s.dilationW, count: ow)
                        continue
                    }
                    for ox in 0..<ow {
                        let ix = ox * s.strideW - s.padW + kx * s.dilationW
                        d[ox] = (ix >= 0 && ix < s.width) ? line[ix] : 0
                    }
                }
            }
        }
    }
}

/// Direct-loop reference of conv2dBatch.
public func conv2dBatchReference(_ input: UnsafePointer<Float>, batch: Int, shape s: Conv2dShape, weight: UnsafePointer<Float>,
                                 bias: UnsafePointer<Float>?, output: UnsafeMutablePointer<Float>) {
    let oh = s.outHeight, ow = s.outWidth
    for o in 0..<s.outChannels {
        for n in 0..<batch {
            for oy in 0..<oh {
                for ox in 0..<ow {
                    var acc: Float = bias?[o] ?? 0
                    for ci in 0..<s.inChannels {
                        for ky in 0..<s.kernelH {
                            let iy = oy * s.strideH - s.padH + ky * s.dilationH
                            if iy < 0 || iy >= s.height { continue }
                            for kx in 0..<s.kernelW {
                                let ix = ox * s.strideW - s.padW + kx * s.dilationW
                                if ix < 0 || ix >= s.width { continue }
                                acc += weight[((o * s.inChannels + ci) * s.kernelH + ky) * s.kernelW + kx]
                                    * input[((ci * batch + n) * s.height + iy) * s.width + ix]
                            }
                        }
                    }
                    output[((o * batch + n) * oh + oy) * ow + ox] = acc
                }
            }
        }
    }
}
