// conv1d and conv2d (NCHW) with stride, padding, dilation and groups. The optimised path
// lowers each group to one GEMM: weight (outCh/g, inCh/g * kernel) x columns (inCh/g *
// kernel, outputPositions), the columns built by im2col into caller-reusable scratch.
// Depthwise conv2d (groups == channels, one filter each, MobileNetV2) skips im2col and
// runs a direct loop. The references are the textbook direct loops.
import CKernels
import Synchronization

/// conv1d: input (inCh, length), weight (outCh, inCh/groups, kernel), bias (outCh) ->
/// output (outCh, outLength). `scratch` (>= shape.scratchCount floats) avoids an allocation.
public func conv1d(_ input: UnsafePointer<Float>, shape s: Conv1dShape, weight: UnsafePointer<Float>, bias: UnsafePointer<Float>?,
                   output: UnsafeMutablePointer<Float>, scratch: UnsafeMutablePointer<Float>? = nil, pool: ThreadPool = .shared) throws {
    try s.validate()
    if KernelConfig.forceReference {
        conv1dReference(input, shape: s, weight: weight, bias: bias, output: output)
        return
    }
    let shape2d = Conv2dShape(inChannels: s.inChannels, outChannels: s.outChannels, height: 1, width: s.length, kernel: 1,
                              groups: s.groups)
    var s2 = shape2d
    s2.kernelW = s.kernel; s2.strideW = s.stride; s2.padW = s.padding; s2.dilationW = s.dilation
    try conv2dLowered(input, shape: s2, weight: weight, bias: bias, output: output, scratch: scratch, pool: pool)
}

/// conv2d on one NCHW image (batch: call per image): input (inCh, H, W), weight (outCh,
/// inCh/groups, kH, kW), bias (outCh) -> output (outCh, outH, outW).
public func conv2d(_ input: UnsafePointer<Float>, shape s: Conv2dShape, weight: UnsafePointer<Float>, bias: UnsafePointer<Float>?,
                   output: UnsafeMutablePointer<Float>, scratch: UnsafeMutablePointer<Float>? = nil, pool: ThreadPool = .shared) throws {
    try s.validate()
    if KernelConfig.forceReference {
        conv2dReference(input, shape: s, weight: weight, bias: bias, output: output)
        return
    }
    if s.isDepthwise {
        try depthwiseConv2d(input, shape: s, weight: weight, bias: bias, output: output, pool: pool)
        return
    }
    try conv2dLowered(input, shape: s, weight: weight, bias: bias, output: output, scratch: scratch, pool: pool)
}

/// conv2d on one NCHW image (groups 1) with the weights packed once at load: `packed` is a
/// channels-first PointwiseConv over inCh · kH · kW inputs (the weight (outCh, inCh, kH, kW)
/// as stored) carrying the bias and activation. A 1×1, stride-1, unpadded conv reads the input
/// in place; any other builds im2col columns (inCh · kH · kW, outH · outW) in the calling
/// thread's reusable scratch first.
public func conv2d(_ input: UnsafePointer<Float>, shape s: Conv2dShape, packed: PointwiseConv, output: UnsafeMutablePointer<Float>,
                   pool: ThreadPool = .shared) throws {
    try s.validate()
    let kdim = s.inChannels * s.kernelH * s.kernelW, positions = s.outHeight * s.outWidth
    guard s.groups == 1, packed.layout == .channelsFirst, packed.inChannels == kdim, packed.outChannels == s.outChannels else {
        throw KernelError.invalidArgument(what: "conv \(s)", reason: "packed weights \(packed.outChannels) x \(packed.inChannels) (\(packed.layout)) do not fit")
    }
    if s.kernelH == 1 && s.kernelW == 1 && s.strideH == 1 && s.strideW == 1 && s.padH == 0 && s.padW == 0 {
        try packed.forward(input, pixels: positions, into: output, pool: pool)
        return
    }
    if s.strideH == 1 && s.strideW == 1 {
        try conv2dShiftedRows(input, shape: s, packed: packed, output: output, pool: pool)
        return
    }
    guard let cols = sl_thread_scratch(3, max(kdim * positions, 1)) else {
        throw KernelError.invalidArgument(what: "conv \(s)", reason: "cannot allocate \(kdim * positions) floats of im2col scratch")
    }
    im2col(input, channels: s.inChannels, shape: s, cols: cols, pool: pool)
    try packed.forward(cols, pixels: positions, into: output, pool: pool)
}

/// A stride-1 conv as one product over shifted views of the zero-padded input, without
/// im2col's kH·kW-fold copy (for a 3×3 conv of 96 channels on a page, 44 M floats written to
/// memory and read back, which cost more than the products). The input is copied once with
/// its padding, (inCh, PH, PW); computed on the padded width, output pixel (oy, ox) reads tap
/// (c, ky, kx) at padded[c][oy + ky·dH][ox + kx·dW], the flat offset oy·PW + ox plus a
/// constant per tap, so each row of the product is one shifted run of the padded image and
/// the kernel copies its pixel blocks as it does a 1×1 conv's. The columns ox ≥ outW (they
/// read across into the next row) are computed and dropped.
private func conv2dShiftedRows(_ input: UnsafePointer<Float>, shape s: Conv2dShape, packed: PointwiseConv,
                               output: UnsafeMutablePointer<Float>, pool: ThreadPool) throws {
    let ph = s.height + 2 * s.padH, pw = s.width + 2 * s.padW
    let oh = s.outHeight, ow = s.outWidth, wide = oh * pw
    let plane = ph * pw, slack = (s.kernelW - 1) * s.dilationW + 1
    let padded = s.inChannels * plane + slack
    let direct = pw == ow // no columns to drop: write the output in place
    let floats = padded + (direct ? 0 : s.outChannels * wide)
    guard let scratch = sl_thread_scratch(3, floats) else {
        throw KernelError.invalidArgument(what: "conv \(s)", reason: "cannot allocate \(floats) floats of padded input")
    }
    pool.parallelFor(s.inChannels, minChunk: max(1, 16384 / max(plane, 1))) { channels in
        for c in channels {
            let src = input + c * s.height * s.width, dst = scratch + c * plane
            dst.update(repeating: 0, count: s.padH * pw)
            for y in 0..<s.height {
                let row = dst + (s.padH + y) * pw
                row.update(repeating: 0, count: s.padW)
                (row + s.padW).update(from: src + y * s.width, count: s.width)
                (row + s.padW + s.width).update(repeating: 0, count: s.padW)
            }
            (dst + (s.padH + s.height) * pw).update(repeating: 0, count: s.padH * pw)
        }
    }
    (scratch + s.inChannels * plane).update(repeating: 0, count: slack)
    let taps = s.kernelH * s.kernelW, k = s.inChannels * taps
    let rows = UnsafeMutablePointer<UnsafePointer<Float>?>.allocate(capacity: k)
    defer { rows.deallocate() }
    for c in 0..<s.inChannels {
        for ky in 0..<s.kernelH {
            for kx in 0..<s.kernelW {
                rows[c * taps + ky * s.kernelW + kx] = UnsafePointer(scratch + c * plane + ky * s.dilationH * pw + kx * s.dilationW)
            }
        }
    }
    let target = direct ? output : scratch + padded
    try packed.forward(rows: rows, pixels: wide, into: target, pool: pool)
    guard !direct else { return }
    pool.parallelFor(s.outChannels, minChunk: max(1, 16384 / max(oh * ow, 1))) { channels in
        for o in channels {
            for y in 0..<oh { (output + (o * oh + y) * ow).update(from: target + o * wide + y * pw, count: ow) }
        }
    }
}

private func conv2dLowered(_ input: UnsafePointer<Float>, shape s: Conv2dShape, weight: UnsafePointer<Float>, bias: UnsafePointer<Float>?,
                           output: UnsafeMutablePointer<Float>, scratch: UnsafeMutablePointer<Float>?, pool: ThreadPool) throws {
    let cinG = s.inChannels / s.groups, coutG = s.outChannels / s.groups
    let oh = s.outHeight, ow = s.outWidth, positions = oh * ow
    let kdim = cinG * s.kernelH * s.kernelW
    let pointwise = s.kernelH == 1 && s.kernelW == 1 && s.strideH == 1 && s.strideW == 1 && s.padH == 0 && s.padW == 0
    // Without caller scratch, the calling thread's reusable scratch (slot 3; the GEMM uses
    // slot 0) holds the columns, so steady-state calls allocate nothing. Sized here, not from
    // scratchCount (which is 0 for shapes conv2d runs depthwise).
    var cols = scratch
    if cols == nil && !pointwise {
        guard let tl = sl_thread_scratch(3, max(kdim * positions, 1)) else {
            throw KernelError.invalidArgument(what: "conv \(s)", reason: "cannot allocate \(kdim * positions) floats of im2col scratch")
        }
        cols = tl
    }
    for g in 0..<s.groups {
        let inG = input + g * cinG * s.height * s.width
        let outG = output + g * coutG * positions
        let b: UnsafePointer<Float>
        if pointwise {
            b = inG // (cinG, H*W) is already the column matrix
        } else {
            im2col(inG, channels: cinG, shape: s, cols: cols!, pool: pool)
            b = UnsafePointer(cols!)
        }
        if let bias {
            for o in 0..<coutG { (outG + o * positions).update(repeating: bias[g * coutG + o], count: positions) }
        }
        sgemm(m: coutG, n: positions, k: kdim, a: weight + g * coutG * kdim, lda: kdim, b: b, ldb: positions,
              beta: bias == nil ? 0 : 1, c: outG, ldc: positions, pool: pool)
    }
}

/// cols (channels * kH * kW, outH * outW); zero where the window reads padding.
private func im2col(_ x: UnsafePointer<Float>, channels: Int, shape s: Conv2dShape, cols: UnsafeMutablePointer<Float>, pool: ThreadPool) {
    let oh = s.outHeight, ow = s.outWidth, kk = s.kernelH * s.kernelW
    pool.parallelFor(channels * kk, minChunk: max(1, 4096 / max(oh * ow, 1))) { range in
        for row in range {
            let c = row / kk, ky = (row % kk) / s.kernelW, kx = row % s.kernelW
            let dst = cols + row * oh * ow
            let plane = x + c * s.height * s.width
            for oy in 0..<oh {
                let iy = oy * s.strideH - s.padH + ky * s.dilationH
                let d = dst + oy * ow
                if iy < 0 || iy >= s.height { d.update(repeating: 0, count: ow); continue }
                let src = plane + iy * s.width
                // Columns ox with 0 <= ix = ox · stride + shift < width are [lo, hi): zeros either
                // side, one run (a copy at stride 1) between them.
                let shift = kx * s.dilationW - s.padW, sw = s.strideW
                let lo = min(ow, shift >= 0 ? 0 : (-shift + sw - 1) / sw)
                let hi = max(lo, min(ow, s.width - shift > 0 ? (s.width - shift + sw - 1) / sw : 0))
                if lo > 0 { d.update(repeating: 0, count: lo) }
                if sw == 1 {
                    if hi > lo { (d + lo).update(from: src + lo + shift, count: hi - lo) }
                } else {
                    var ox = lo
                    while ox < hi { d[ox] = src[ox &* sw &+ shift]; ox &+= 1 }
                }
                if hi < ow { (d + hi).update(repeating: 0, count: ow - hi) }
            }
        }
    }
}

/// One filter per channel: CKernels' row-update loop, channels split over the pool.
private func depthwiseConv2d(_ x: UnsafePointer<Float>, shape s: Conv2dShape, weight: UnsafePointer<Float>, bias: UnsafePointer<Float>?,
                             output: UnsafeMutablePointer<Float>, pool: ThreadPool) throws {
    let oh = s.outHeight, ow = s.outWidth, kk = s.kernelH * s.kernelW
    let isa = Int32(KernelConfig.isa.rawValue)
    let failed = Atomic<Bool>(false)
    pool.parallelFor(s.inChannels, minChunk: max(1, 8192 / max(oh * ow * kk, 1))) { range in
        let rc = sl_depthwise_conv2d(isa, x, Int32(s.height), Int32(s.width), weight, Int32(s.kernelH), Int32(s.kernelW),
                                     Int32(s.strideH), Int32(s.strideW), Int32(s.padH), Int32(s.padW), Int32(s.dilationH),
                                     Int32(s.dilationW), bias, output, Int32(oh), Int32(ow), Int32(range.lowerBound),
                                     Int32(range.upperBound))
        if rc != 0 { failed.store(true, ordering: .relaxed) }
    }
    if failed.load(ordering: .relaxed) {
        throw KernelError.invalidArgument(what: "depthwise conv2d \(s)", reason: "cannot allocate row scratch")
    }
}

/// Direct-loop reference conv1d.
public func conv1dReference(_ input: UnsafePointer<Float>, shape s: Conv1dShape, weight: UnsafePointer<Float>, bias: UnsafePointer<Float>?,
                            output: UnsafeMutablePointer<Float>) {
    let cinG = s.inChannels / s.groups, coutG = s.outChannels / s.groups, ol = s.outLength
    for o in 0..<s.outChannels {
        let g = o / coutG
        for t in 0..<ol {
            var acc: Float = bias?[o] ?? 0
            for ci in 0..<cinG {
                for kx in 0..<s.kernel {
                    let ix = t * s.stride - s.padding + kx * s.dilation
                    if ix < 0 || ix >= s.length { continue }
                    acc += weight[(o * cinG + ci) * s.kernel + kx] * input[(g * cinG + ci) * s.length + ix]
                }
            }
            output[o * ol + t] = acc
        }
    }
}

/// Direct-loop reference conv2d.
public func conv2dReference(_ input: UnsafePointer<Float>, shape s: Conv2dShape, weight: UnsafePointer<Float>, bias: UnsafePointer<Float>?,
                            output: UnsafeMutablePointer<Float>) {
    let cinG = s.inChannels / s.groups, coutG = s.outChannels / s.groups, oh = s.outHeight, ow = s.outWidth
    for o in 0..<s.outChannels {
        let g = o / coutG
        for oy in 0..<oh {
            for ox in 0..<ow {
                var acc: Float = bias?[o] ?? 0
                for ci in 0..<cinG {
                    for ky in 0..<s.kernelH {
                        let iy = oy * s.strideH - s.padH + ky * s.dilationH
                        if iy < 0 || iy >= s.height { continue }
                        for kx in 0..<s.kernelW {
                            let ix = ox * s.strideW - s.padW + kx * s.dilationW
                            if ix < 0 || ix >= s.width { continue }
                            acc += weight[((o * cinG + ci) * s.kernelH + ky) * s.kernelW + kx]
                                * input[((g * cinG + ci) * s.height + iy) * s.width + ix]
                        }
                    }
                }
                output[(o * oh + oy) * ow + ox] = acc
            }
        }
    }
}
