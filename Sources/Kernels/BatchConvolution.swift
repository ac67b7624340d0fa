// conv2d over a batch of same-sized images held channel-major, (channels, batch, H, W):
// small networks run on many crops at once (MTCNN's R-Net on 24×24 and O-Net on 48×48
// face candidates), and one GEMM over the whole batch keeps the micro-kernel busy where one
// GEMM per 24×24 crop would be mostly packing overhead. The layout is chosen so the GEMM's
// output (outChannels, batch × outH × outW) is already the next layer's input; per-channel
// ops (bias, PReLU) see one contiguous row per channel and pooling sees (channels × batch)
// planes. With batch 1 it is the ordinary (channels, H, W) layout.
import CKernels

/// input (inCh, batch, H, W), weight (outCh, inCh, kH, kW), bias (outCh) -> output (outCh,
/// batch, outH, outW). Groups must be 1. `scratch` (>= conv2dBatchScratchCount floats)
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
    if let bias {
        for o in 0..<s.outChannels { (output + o * positions).update(repeating: bias[o], count: positions) }
    }
    let pointwise = s.kernelH == 1 && s.kernelW == 1 && s.strideH == 1 && s.strideW == 1 && s.padH == 0 && s.padW == 0
    if pointwise {
        // (inCh, batch * H * W) is already the column matrix of a 1×1 convolution.
        sgemm(m: s.outChannels, n: positions, k: kdim, a: weight, lda: kdim, b: input, ldb: positions,
              beta: bias == nil ? 0 : 1, c: output, ldc: positions, pool: pool)
        return
    }
    // The columns are written straight into the GEMM's packed-panel layout, so the GEMM
    // does not copy them a second time (with a few output channels, packing the columns
    // cost as much as the multiply itself).
    var args = sl_gemm_args()
    args.isa = Int32(KernelConfig.isa.rawValue)
    let nr = Int(sl_gemm_nr(args.isa))
    let packedCount = Int(sl_packed_b_floats(args.isa, Int32(kdim), Int32(positions)))
    var packed = scratch
    if packed == nil {
        // Slot 3 as conv2d uses it; the GEMM uses slot 0.
        guard let tl = sl_thread_scratch(3, packedCount) else {
            throw KernelError.invalidArgument(what: "conv2dBatch \(s) batch \(batch)",
                                              reason: "cannot allocate \(packedCount) floats of im2col scratch")
        }
        packed = tl
    }
    im2colPacked(input, batch: batch, shape: s, nr: nr, packed: packed!, pool: pool)
    args.m = Int32(s.outChannels); args.n = Int32(positions); args.k = Int32(kdim)
    args.alpha = 1; args.beta = bias == nil ? 0 : 1
    args.a = weight; args.lda = kdim; args.transA = 0
    args.packedB = UnsafePointer(packed!)
    args.c = output; args.ldc = positions
    GEMMPartition.run(args, pool: pool)
}

/// Floats of scratch `conv2dBatch` needs for `batch` images of `shape` (its packed columns).
public func conv2dBatchScratchCount(batch: Int, shape s: Conv2dShape) -> Int {
    let positions = batch * s.outHeight * s.outWidth
    return Int(sl_packed_b_floats(Int32(KernelConfig.isa.rawValue), Int32(s.inChannels * s.kernelH * s.kernelW), Int32(positions)))
}

/// The im2col matrix (inCh * kH * kW, batch * outH * outW) in sl_pack_b_f32's layout:
/// NR-wide column panels, each (kdim, NR) row-major, the last one zero-padded; zero where
/// a window reads padding.
private func im2colPacked(_ x: UnsafePointer<Float>, batch: Int, shape s: Conv2dShape, nr: Int,
                          packed: UnsafeMutablePointer<Float>, pool: ThreadPool) {
    let oh = s.outHeight, ow = s.outWidth, kk = s.kernelH * s.kernelW
    let plane = s.height * s.width, perImage = oh * ow, positions = batch * perImage
    let kdim = s.inChannels * kk
    let panels = (positions + nr - 1) / nr
    let unpadded = s.padH == 0 && s.padW == 0
    pool.parallelFor(panels, minChunk: max(1, 16384 / max(kdim * nr, 1))) { range in
        // A panel's columns fall into runs along one output row; without padding a run
        // reads input positions `stride` apart, so each (row, run) is one strided copy.
        let runStart = UnsafeMutablePointer<Int>.allocate(capacity: nr + 1) // (runs + 1) first column of each run
        let runBase = UnsafeMutablePointer<Int>.allocate(capacity: nr)      // (runs) input offset of its first window, channel 0
        // (nr) per column of the panel: its image's offset and its window's top-left tap.
        let cn = UnsafeMutablePointer<Int>.allocate(capacity: nr), cy = UnsafeMutablePointer<Int>.allocate(capacity: nr),
            cx = UnsafeMutablePointer<Int>.allocate(capacity: nr)
        defer { runStart.deallocate(); runBase.deallocate(); cn.deallocate(); cy.deallocate(); cx.deallocate() }
        for panel in range {
            let dst = packed + panel * kdim * nr
            let c0 = panel * nr, w = min(nr, positions - c0)
            var runs = 0
            for j in 0..<w {
                let col = c0 + j, r = col % perImage
                cn[j] = (col / perImage) * plane
                cy[j] = (r / ow) * s.strideH - s.padH
                cx[j] = (r % ow) * s.strideW - s.padW
                if j == 0 || (col % ow) == 0 {
                    runStart[runs] = j
                    runBase[runs] = cn[j] + cy[j] * s.width + cx[j]
                    runs += 1
                }
            }
            runStart[runs] = w
            for row in 0..<kdim {
                let c = row / kk, ky = (row % kk) / s.kernelW, kx = row % s.kernelW
                let d = dst + row * nr
                let dy = ky * s.dilationH, dx = kx * s.dilationW
                let src = x + c * batch * plane + dy * s.width + dx
                if unpadded {
                    for r in 0..<runs {
                        let j0 = runStart[r], count = runStart[r + 1] - j0
                        let from = src + runBase[r]
                        if s.strideW == 1 {
                            (d + j0).update(from: from, count: count)
                        } else {
                            for j in 0..<count { d[j0 + j] = from[j * s.strideW] }
                        }
                    }
                } else {
                    for j in 0..<w {
                        let iy = cy[j] + dy, ix = cx[j] + dx
                        d[j] = (iy >= 0 && iy < s.height && ix >= 0 && ix < s.width)
                            ? x[c * batch * plane + cn[j] + iy * s.width + ix] : 0
                    }
                }
                for j in w..<nr { d[j] = 0 }
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
