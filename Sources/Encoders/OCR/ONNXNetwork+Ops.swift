// The operators of ONNXNetwork, one function per op, each checking the shapes it is given
// (a picture size the graph cannot take is an error, never a trap). Convolutions, matrix
// products, activations and softmax run on Kernels; the shape ops are plain loops over small
// tensors. Broadcasting follows numpy (ONNX multidirectional broadcasting).
import Foundation
import Kernels

extension ONNXNetwork {
    static func execute(_ node: Node, arg: (Int) throws(OCRError) -> Value, optionalArg: (Int) throws(OCRError) -> Value?,
                        pool: ThreadPool) throws(OCRError) -> Value {
        func fail(_ reason: String) -> OCRError { .shape(node: node.name, reason: reason) }
        switch node.op {
        case let .conv(spec, weight, bias, pointwise, winograd, after):
            var y = try conv(arg(0), spec, weight, bias, pointwise: pointwise, winograd: winograd, node: node.name, pool: pool)
            if after.activation != .none || after.hasAffine {
                y.data.withUnsafeMutableBufferPointer { b in
                    guard let p = b.baseAddress else { return }
                    switch after.activation {
                    case .none: break
                    case .relu: relu(p, count: b.count, pool: pool)
                    case .relu6: relu6(p, count: b.count, pool: pool)
                    case .hardSwish: hardSwish(p, count: b.count, pool: pool)
                    }
                    if after.hasAffine {
                        let s = after.scale, t = after.shift
                        pool.parallelFor(b.count, minChunk: 16384) { r in for i in r { p[i] = p[i] * s + t } }
                    }
                }
            }
            return y
        case let .convTranspose(spec, weight, bias, activation):
            var y = try convTranspose(arg(0), spec, weight, bias, reluOnWrite: activation == .relu, node: node.name, pool: pool)
            if let activation, activation != .relu || !spec.disjoint { apply(activation, to: &y, pool: pool) }
            return y
        case let .batchNorm(scale, shift):
            var x = try arg(0)
            guard x.shape.count >= 2, x.shape[1] == scale.count else { throw fail("input \(x.shape) for \(scale.count) channels") }
            let plane = x.shape[2...].reduce(1, *), channels = scale.count
            x.data.withUnsafeMutableBufferPointer { b in
                guard let xp = b.baseAddress else { return }
                pool.parallelFor(b.count / max(plane, 1), minChunk: max(1, 16384 / max(plane, 1))) { planes in
                    for i in planes {
                        let c = i % channels, s = scale[c], t = shift[c], row = xp + i * plane
                        for j in 0..<plane { row[j] = row[j] * s + t }
                    }
                }
            }
            return x
        case let .binary(op): return try binary(op, arg(0), arg(1), node: node.name, pool: pool)
        case let .unary(op):
            var x = try arg(0)
            apply(op, to: &x, pool: pool)
            return x
        case let .hardSigmoid(alpha, beta):
            var x = try arg(0)
            if abs(alpha - 1.0 / 6) < 1e-7, beta == 0.5 {
                x.data.withUnsafeMutableBufferPointer { b in if let p = b.baseAddress { hardSigmoid(p, count: b.count, pool: pool) } }
            } else {
                for i in x.data.indices { x.data[i] = min(max(alpha * x.data[i] + beta, 0), 1) }
            }
            return x
        case .globalAveragePool:
            let x = try arg(0)
            guard x.shape.count == 4 else { throw fail("input \(x.shape) is not NCHW") }
            let plane = x.shape[2] * x.shape[3], rows = x.shape[0] * x.shape[1]
            guard plane > 0 else { throw fail("empty input \(x.shape)") }
            var out = [Float](repeating: 0, count: rows)
            x.data.withUnsafeBufferPointer { b in
                for r in 0..<rows { out[r] = Kernels.sum(b.baseAddress! + r * plane, count: plane) / Float(plane) }
            }
            return Value(shape: [x.shape[0], x.shape[1], 1, 1], data: out)
        case let .averagePool(kernel, stride):
            let x = try arg(0)
            guard x.shape.count == 4 else { throw fail("input \(x.shape) is not NCHW") }
            let (h, w) = (x.shape[2], x.shape[3])
            guard h >= kernel.0, w >= kernel.1 else { throw fail("input \(x.shape) smaller than the pooling window") }
            let oh = (h - kernel.0) / stride.0 + 1, ow = (w - kernel.1) / stride.1 + 1
            let planes = x.shape[0] * x.shape[1]
            var out = Value(zeros: [x.shape[0], x.shape[1], oh, ow])
            let inv = 1 / Float(kernel.0 * kernel.1)
            for p in 0..<planes {
                for oy in 0..<oh {
                    for ox in 0..<ow {
                        var s: Float = 0
                        for ky in 0..<kernel.0 {
                            let row = p * h * w + (oy * stride.0 + ky) * w + ox * stride.1
                            for kx in 0..<kernel.1 { s += x.data[row + kx] }
                        }
                        out.data[(p * oh + oy) * ow + ox] = s * inv
                    }
                }
            }
            return out
        case .resizeNearest:
            let x = try arg(0)
            guard x.shape.count == 4 else { throw fail("input \(x.shape) is not NCHW") }
            var outShape: [Int]
            var scales: [Float]
            if let s = try optionalArg(2), s.count == 4 {
                scales = s.data
                outShape = (0..<4).map { Int((Float(x.shape[$0]) * scales[$0]).rounded(.down)) }
            } else if let sizes = try optionalArg(3), sizes.count == 4 {
                outShape = sizes.data.map { Int($0) }
                scales = (0..<4).map { Float(outShape[$0]) / Float(max(x.shape[$0], 1)) }
            } else {
                throw fail("Resize needs scales or sizes")
            }
            guard outShape[0] == x.shape[0], outShape[1] == x.shape[1], outShape[2] > 0, outShape[3] > 0,
                  outShape[2] <= x.shape[2] * 16, outShape[3] <= x.shape[3] * 16 else { throw fail("Resize to \(outShape) from \(x.shape)") }
            // asymmetric: source = destination / scale; nearest_mode floor.
            let (h, w, oh, ow) = (x.shape[2], x.shape[3], outShape[2], outShape[3])
            let sy = (0..<oh).map { min(Int((Float(($0)) / scales[2]).rounded(.down)), h - 1) }
            let sx = (0..<ow).map { min(Int((Float(($0)) / scales[3]).rounded(.down)), w - 1) }
            var out = Value(uninitialized: outShape)
            x.data.withUnsafeBufferPointer { xb in
                out.data.withUnsafeMutableBufferPointer { ob in
                    sx.withUnsafeBufferPointer { cols in
                        guard let xp = xb.baseAddress, let op = ob.baseAddress, let cx = cols.baseAddress else { return }
                        pool.parallelFor(outShape[0] * outShape[1], minChunk: max(1, 16384 / max(oh * ow, 1))) { planes in
                            for p in planes {
                                for y in 0..<oh {
                                    let dst = op + (p * oh + y) * ow
                                    // An upscaled row repeats the one above when they read the same source row.
                                    if y > 0 && sy[y] == sy[y - 1] { dst.update(from: dst - ow, count: ow); continue }
                                    let src = xp + p * h * w + sy[y] * w
                                    for xx in 0..<ow { dst[xx] = src[cx[xx]] }
                                }
                            }
                        }
                    }
                }
            }
            return out
        case let .concat(axis):
            let parts = try (0..<node.inputs.count).map { (k: Int) throws(OCRError) -> Value in try arg(k) }
            return try concat(parts, axis: axis, node: node.name)
        case .identity: return try arg(0)
        case .reshape:
            var x = try arg(0)
            let spec = try arg(1).data.map { Int(max(min($0, 1e9), -1)) }
            var shape: [Int] = []
            for (i, d) in spec.enumerated() {
                if d == 0 {
                    guard i < x.shape.count else { throw fail("0 in shape \(spec) beyond rank \(x.shape.count)") }
                    shape.append(x.shape[i])
                } else { shape.append(d) }
            }
            let known = shape.filter { $0 != -1 }.reduce(1, *)
            if let i = shape.firstIndex(of: -1) {
                guard shape.filter({ $0 == -1 }).count == 1, known > 0, x.count % known == 0 else { throw fail("cannot reshape \(x.shape) to \(spec)") }
                shape[i] = x.count / known
            }
            guard shape.allSatisfy({ $0 >= 0 }), shape.reduce(1, *) == x.count else { throw fail("cannot reshape \(x.shape) to \(spec)") }
            x.shape = shape
            return x
        case let .transpose(perm): return try transpose(arg(0), perm: perm, node: node.name)
        case let .squeeze(axes):
            var x = try arg(0)
            let rank = x.shape.count
            let ax = axes.isEmpty ? x.shape.indices.filter { x.shape[$0] == 1 } : axes.map { $0 < 0 ? $0 + rank : $0 }
            guard ax.allSatisfy({ $0 >= 0 && $0 < rank && x.shape[$0] == 1 }) else { throw fail("cannot squeeze \(axes) of \(x.shape)") }
            x.shape = x.shape.indices.filter { !ax.contains($0) }.map { x.shape[$0] }
            return x
        case let .unsqueeze(axes):
            var x = try arg(0)
            let rank = x.shape.count + axes.count
            var shape = x.shape
            for a in axes.map({ $0 < 0 ? $0 + rank : $0 }).sorted() {
                guard a >= 0, a <= shape.count else { throw fail("cannot unsqueeze \(axes) of \(x.shape)") }
                shape.insert(1, at: a)
            }
            x.shape = shape
            return x
        case .shape:
            let x = try arg(0)
            return Value(shape: [x.shape.count], data: x.shape.map { Float($0) }, isInteger: true)
        case .slice: return try slice(arg(0), starts: arg(1), ends: arg(2), axes: optionalArg(3), steps: optionalArg(4), node: node.name)
        case let .constant(v): return v
        case .matMul: return try matMul(arg(0), arg(1), node: node.name, pool: pool)
        case let .matMulPacked(w):
            let a = try arg(0)
            guard a.shape.count >= 2, a.shape[a.shape.count - 1] == w.inFeatures else {
                throw fail("MatMul of \(a.shape) and [\(w.inFeatures), \(w.outFeatures)]")
            }
            let rows = a.count / w.inFeatures
            var out = Value(uninitialized: Array(a.shape.dropLast()) + [w.outFeatures])
            a.data.withUnsafeBufferPointer { ab in
                out.data.withUnsafeMutableBufferPointer { ob in
                    if let x = ab.baseAddress, let y = ob.baseAddress { w.forward(x, rows: rows, into: y, pool: pool) }
                }
            }
            return out
        case let .softmax(axis, coerce2D):
            var x = try arg(0)
            let rank = x.shape.count
            let a = axis < 0 ? axis + rank : axis
            guard a >= 0, a < rank else { throw fail("softmax axis \(axis) of \(x.shape)") }
            guard coerce2D || a == rank - 1 else { throw fail("softmax over a middle axis is not supported") }
            let cols = x.shape[a...].reduce(1, *)
            guard cols > 0 else { return x }
            x.data.withUnsafeMutableBufferPointer { b in
                if let p = b.baseAddress { softmax(p, rows: b.count / cols, cols: cols, pool: pool) }
            }
            return x
        case let .reduceMean(axes, keepDims):
            let x = try arg(0)
            let rank = x.shape.count
            guard axes.count == 1, (axes[0] < 0 ? axes[0] + rank : axes[0]) == rank - 1, let cols = x.shape.last, cols > 0 else {
                throw fail("only a mean over the last axis is supported (axes \(axes) of \(x.shape))")
            }
            let rows = x.count / cols
            var out = [Float](repeating: 0, count: rows)
            x.data.withUnsafeBufferPointer { b in
                for r in 0..<rows { out[r] = Kernels.sum(b.baseAddress! + r * cols, count: cols) / Float(cols) }
            }
            return Value(shape: keepDims ? Array(x.shape.dropLast()) + [1] : Array(x.shape.dropLast()), data: out)
        }
    }

    // MARK: - Convolutions

    /// A plane of at least this many pixels (and 8 rows and columns) runs a 3×3 conv by Winograd:
    /// below it the transforms' fixed costs outweigh the saved products.
    static let winogradMinPixels = 4096

    static func conv(_ x: Value, _ t: Conv2dShapeTemplate, _ weight: [Float], _ bias: [Float]?, pointwise: PointwiseConv?,
                     winograd: Winograd3x3Conv? = nil, node: String, pool: ThreadPool) throws(OCRError) -> Value {
        guard x.shape.count == 4, x.shape[1] == t.inChannels else { throw .shape(node: node, reason: "input \(x.shape) for \(t.inChannels) channels") }
        var s = Conv2dShape(inChannels: t.inChannels, outChannels: t.outChannels, height: x.shape[2], width: x.shape[3], kernel: 1, groups: t.groups)
        s.kernelH = t.kernelH; s.kernelW = t.kernelW; s.strideH = t.strideH; s.strideW = t.strideW
        s.padH = t.padH; s.padW = t.padW; s.dilationH = t.dilationH; s.dilationW = t.dilationW
        guard s.height + 2 * s.padH >= s.dilationH * (s.kernelH - 1) + 1, s.width + 2 * s.padW >= s.dilationW * (s.kernelW - 1) + 1 else {
            throw .shape(node: node, reason: "input \(x.shape) is smaller than the \(t.kernelH)x\(t.kernelW) kernel")
        }
        let batch = x.shape[0], oh = s.outHeight, ow = s.outWidth
        var out = Value(uninitialized: [batch, t.outChannels, oh, ow])
        let inPlane = t.inChannels * s.height * s.width, outPlane = t.outChannels * oh * ow
        if let winograd, s.height >= 8, s.width >= 8, s.height * s.width >= winogradMinPixels {
            do {
                try x.data.withUnsafeBufferPointer { xb in
                    try out.data.withUnsafeMutableBufferPointer { ob in
                        for n in 0..<batch {
                            try winograd.forward(xb.baseAddress! + n * inPlane, height: s.height, width: s.width,
                                                 into: ob.baseAddress! + n * outPlane, pool: pool)
                        }
                    }
                }
            } catch {
                throw .kernel("\(node): \(error)")
            }
            return out
        }
        if let pointwise {
            do {
                try x.data.withUnsafeBufferPointer { xb in
                    try out.data.withUnsafeMutableBufferPointer { ob in
                        for n in 0..<batch {
                            try conv2d(xb.baseAddress! + n * inPlane, shape: s, packed: pointwise, output: ob.baseAddress! + n * outPlane,
                                       pool: pool)
                        }
                    }
                }
            } catch {
                throw .kernel("\(node): \(error)")
            }
            return out
        }
        do {
            try x.data.withUnsafeBufferPointer { xb in
                try out.data.withUnsafeMutableBufferPointer { ob in
                    try weight.withUnsafeBufferPointer { wb in
                        for n in 0..<batch {
                            if let bias {
                                try bias.withUnsafeBufferPointer { bb in
                                    try conv2d(xb.baseAddress! + n * inPlane, shape: s, weight: wb.baseAddress!, bias: bb.baseAddress!,
                                               output: ob.baseAddress! + n * outPlane, pool: pool)
                                }
                            } else {
                                try conv2d(xb.baseAddress! + n * inPlane, shape: s, weight: wb.baseAddress!, bias: nil,
                                           output: ob.baseAddress! + n * outPlane, pool: pool)
                            }
                        }
                    }
                }
            }
        } catch {
            throw .kernel("\(node): \(error)")
        }
        return out
    }

    /// `op` on every element of `x`, in place.
    static func apply(_ op: UnaryOp, to x: inout Value, pool: ThreadPool) {
        x.data.withUnsafeMutableBufferPointer { b in
            guard let p = b.baseAddress else { return }
            switch op {
            case .relu: relu(p, count: b.count, pool: pool)
            case .sigmoid: sigmoid(p, count: b.count, pool: pool)
            case .hardSwish: hardSwish(p, count: b.count, pool: pool)
            case .sqrt: for i in 0..<b.count { p[i] = p[i].squareRoot() }
            }
        }
    }

    /// ConvTranspose without padding: columns (outC·kH·kW, H·W) = Wᵀ (outC·kH·kW, inC) · X (inC, H·W),
    /// then each column is added into its kH×kW window of the output (col2im).
    /// `reluOnWrite`: a disjoint one (`ConvTransposeSpec.disjoint`) clamps at 0 as it writes.
    static func convTranspose(_ x: Value, _ t: ConvTransposeSpec, _ weight: [Float], _ bias: [Float]?, reluOnWrite: Bool = false,
                              node: String, pool: ThreadPool) throws(OCRError) -> Value {
        guard x.shape.count == 4, x.shape[1] == t.inChannels else { throw .shape(node: node, reason: "input \(x.shape) for \(t.inChannels) channels") }
        let (h, w) = (x.shape[2], x.shape[3])
        let oh = (h - 1) * t.strideH + t.kernelH, ow = (w - 1) * t.strideW + t.kernelW
        let rows = t.outChannels * t.kernelH * t.kernelW
        var cols = [Float](unsafeUninitializedCapacity: rows * h * w) { _, n in n = rows * h * w } // (outC·kH·kW, H·W), written by the GEMM
        var out = Value(uninitialized: [x.shape[0], t.outChannels, oh, ow])
        for n in 0..<x.shape[0] {
            x.data.withUnsafeBufferPointer { xb in
                weight.withUnsafeBufferPointer { wb in
                    cols.withUnsafeMutableBufferPointer { cb in
                        sgemm(transA: true, m: rows, n: h * w, k: t.inChannels, a: wb.baseAddress!, lda: rows,
                              b: xb.baseAddress! + n * t.inChannels * h * w, ldb: h * w, c: cb.baseAddress!, ldc: h * w, pool: pool)
                    }
                }
            }
            // Each output channel's plane from its kH·kW rows of `cols`, in parallel. With
            // stride = kernel (DB's 2×2, stride 2) every output pixel comes from exactly one row:
            // each output row is written once, left to right, bias added (and Relu applied), and
            // each kernel row of a channel is a task of its own. Otherwise a channel is one task
            // whose windows are added into its plane (col2im).
            let kw = t.kernelW
            cols.withUnsafeBufferPointer { cb in
                out.data.withUnsafeMutableBufferPointer { ob in
                    guard let cp = cb.baseAddress, let op = ob.baseAddress else { return }
                    let base = op + n * t.outChannels * oh * ow
                    if t.disjoint {
                        pool.parallelFor(t.outChannels * t.kernelH) { tasks in
                            for task in tasks {
                                let c = task / t.kernelH, ky = task % t.kernelH, b = bias?[c] ?? 0
                                let first = cp + (c * t.kernelH + ky) * kw * h * w
                                let floor: Float = reluOnWrite ? 0 : -.infinity
                                for y in 0..<h {
                                    let dst = base + c * oh * ow + (y * t.strideH + ky) * ow, src = first + y * w
                                    if kw == 2 {
                                        let right = src + h * w
                                        for xx in 0..<w {
                                            dst[2 * xx] = max(src[xx] + b, floor)
                                            dst[2 * xx + 1] = max(right[xx] + b, floor)
                                        }
                                    } else {
                                        for xx in 0..<w {
                                            for kx in 0..<kw { dst[xx * kw + kx] = max(src[kx * h * w + xx] + b, floor) }
                                        }
                                    }
                                }
                            }
                        }
                        return
                    }
                    pool.parallelFor(t.outChannels) { channels in
                        for c in channels {
                            let plane = base + c * oh * ow
                            plane.update(repeating: bias?[c] ?? 0, count: oh * ow)
                            for ky in 0..<t.kernelH {
                                for kx in 0..<kw {
                                    let row = cp + ((c * t.kernelH + ky) * kw + kx) * h * w
                                    for y in 0..<h {
                                        let dst = plane + (y * t.strideH + ky) * ow + kx, src = row + y * w
                                        for xx in 0..<w { dst[xx &* t.strideW] += src[xx] }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        return out
    }

    // MARK: - Elementwise with broadcasting

    static func broadcastShape(_ a: [Int], _ b: [Int]) -> [Int]? {
        let rank = max(a.count, b.count)
        let pa = [Int](repeating: 1, count: rank - a.count) + a, pb = [Int](repeating: 1, count: rank - b.count) + b
        var out: [Int] = []
        for i in 0..<rank {
            if pa[i] == pb[i] || pb[i] == 1 { out.append(pa[i]) } else if pa[i] == 1 { out.append(pb[i]) } else { return nil }
        }
        return out
    }

    static func binary(_ op: BinaryOp, _ a: Value, _ b: Value, node: String, pool: ThreadPool? = nil) throws(OCRError) -> Value {
        guard let shape = broadcastShape(a.shape, b.shape) else { throw .shape(node: node, reason: "cannot broadcast \(a.shape) with \(b.shape)") }
        let isInteger = a.isInteger && b.isInteger
        let rank = shape.count, count = shape.reduce(1, *)
        var out = [Float](unsafeUninitializedCapacity: count) { _, n in n = count } // every element is written below
        guard count > 0 else { return Value(shape: shape, data: out, isInteger: isInteger) }
        // Element strides of each operand in the output's index space (0 on broadcast axes).
        func strides(_ s: [Int]) -> [Int] {
            let p = [Int](repeating: 1, count: rank - s.count) + s
            var st = [Int](repeating: 0, count: rank), acc = 1
            for i in stride(from: rank - 1, through: 0, by: -1) { st[i] = p[i] == 1 ? 0 : acc; acc *= p[i] }
            return st
        }
        let sa = strides(a.shape), sb = strides(b.shape)
        // The trailing block over which each operand is either contiguous or one repeated
        // value: one tight loop per block (per channel for (N,C,H,W) ⊙ (N,C,1,1)).
        var inner = 1, blockA = -1, blockB = -1 // -1 undecided, 0 repeated, 1 contiguous
        var d = rank - 1
        while d >= 0 {
            if shape[d] == 1 { d -= 1; continue }
            let ka = sa[d] == 0 ? 0 : (sa[d] == inner ? 1 : 2), kb = sb[d] == 0 ? 0 : (sb[d] == inner ? 1 : 2)
            if ka == 2 || kb == 2 || (blockA != -1 && ka != blockA) || (blockB != -1 && kb != blockB) { break }
            blockA = ka; blockB = kb
            inner *= shape[d]
            d -= 1
        }
        let outerRank = d + 1 // dims 0..<outerRank are walked one index at a time
        let stepA = blockA == 1 ? 1 : 0, stepB = blockB == 1 ? 1 : 0
        let blocks = count / inner
        // A large tensor (a detector feature map) is split over the pool: by blocks when there
        // are enough of them, else each block's run in pieces.
        let pieces = pool.map { count >= 1 << 15 && blocks < 2 * $0.threadCount ? $0.threadCount : 1 } ?? 1
        let tasks = blocks * pieces
        a.data.withUnsafeBufferPointer { ab in
            b.data.withUnsafeBufferPointer { bb in
                out.withUnsafeMutableBufferPointer { ob in
                    let pa = ab.baseAddress!, pb = bb.baseAddress!, po = ob.baseAddress!
                    /// Tasks `range` (block `t / pieces`, its piece `t % pieces`).
                    func walk(_ range: Range<Int>) {
                        // The first block's index over the outer dims, then counted up.
                        var index = [Int](repeating: 0, count: max(outerRank, 1))
                        var rest = range.lowerBound / pieces
                        for k in stride(from: outerRank - 1, through: 0, by: -1) { index[k] = rest % shape[k]; rest /= shape[k] }
                        var block = range.lowerBound / pieces
                        var t = range.lowerBound
                        while t < range.upperBound {
                            var oa = 0, obb = 0
                            for k in 0..<outerRank { oa += index[k] * sa[k]; obb += index[k] * sb[k] }
                            let o = block * inner
                            while t < range.upperBound && t / pieces == block {
                                let piece = t % pieces, lo = inner * piece / pieces, hi = inner * (piece + 1) / pieces
                                apply(op, isInteger: isInteger, pa + oa + lo * stepA, stepA, pb + obb + lo * stepB, stepB, po + o + lo, hi - lo)
                                t += 1
                            }
                            block += 1
                            var k = outerRank - 1
                            while k >= 0 { index[k] += 1; if index[k] < shape[k] { break }; index[k] = 0; k -= 1 }
                        }
                    }
                    if let pool, count >= 1 << 15 {
                        pool.parallelFor(tasks) { walk($0) }
                    } else {
                        walk(0..<tasks)
                    }
                }
            }
        }
        return Value(shape: shape, data: out, isInteger: isInteger)
    }

    /// y[i] = x1[i·s1] op x2[i·s2] for i < n (strides 0 or 1), one loop per op so each vectorises.
    @inline(__always)
    static func apply(_ op: BinaryOp, isInteger: Bool, _ x1: UnsafePointer<Float>, _ s1: Int, _ x2: UnsafePointer<Float>, _ s2: Int,
                      _ y: UnsafeMutablePointer<Float>, _ n: Int) {
        switch (op, s1, s2) {
        case (.add, 1, 1): for i in 0..<n { y[i] = x1[i] + x2[i] }
        case (.add, 1, 0): let v = x2[0]; for i in 0..<n { y[i] = x1[i] + v }
        case (.add, 0, 1): let v = x1[0]; for i in 0..<n { y[i] = v + x2[i] }
        case (.sub, 1, 1): for i in 0..<n { y[i] = x1[i] - x2[i] }
        case (.sub, 1, 0): let v = x2[0]; for i in 0..<n { y[i] = x1[i] - v }
        case (.sub, 0, 1): let v = x1[0]; for i in 0..<n { y[i] = v - x2[i] }
        case (.mul, 1, 1): for i in 0..<n { y[i] = x1[i] * x2[i] }
        case (.mul, 1, 0): let v = x2[0]; for i in 0..<n { y[i] = x1[i] * v }
        case (.mul, 0, 1): let v = x1[0]; for i in 0..<n { y[i] = v * x2[i] }
        case (.div, _, _) where !isInteger:
            for i in 0..<n { y[i] = x1[i * s1] / x2[i * s2] }
        default:
            for i in 0..<n {
                let p = x1[i * s1], q = x2[i * s2]
                switch op {
                case .add: y[i] = p + q
                case .sub: y[i] = p - q
                case .mul: y[i] = p * q
                case .div: y[i] = q == 0 ? 0 : (p / q).rounded(.towardZero)
                case .pow: y[i] = q == 2 ? p * p : Foundation.pow(p, q)
                }
            }
        }
    }

    // MARK: - Shape ops

    static func concat(_ parts: [Value], axis: Int, node: String) throws(OCRError) -> Value {
        guard let first = parts.first else { throw .shape(node: node, reason: "no inputs") }
        let rank = first.shape.count
        let a = axis < 0 ? axis + rank : axis
        guard a >= 0, a < rank, parts.allSatisfy({ p in p.shape.count == rank && (0..<rank).allSatisfy { d in d == a || p.shape[d] == first.shape[d] } }) else {
            throw .shape(node: node, reason: "cannot concatenate \(parts.map(\.shape)) on axis \(axis)")
        }
        let outer = first.shape[..<a].reduce(1, *)
        var shape = first.shape
        shape[a] = parts.map { $0.shape[a] }.reduce(0, +)
        var out: [Float] = []
        out.reserveCapacity(shape.reduce(1, *))
        for o in 0..<outer {
            for p in parts {
                let chunk = p.shape[a...].reduce(1, *)
                out += p.data[(o * chunk)..<((o + 1) * chunk)]
            }
        }
        return Value(shape: shape, data: out, isInteger: parts.allSatisfy(\.isInteger))
    }

    static func transpose(_ x: Value, perm p: [Int], node: String) throws(OCRError) -> Value {
        let rank = x.shape.count
        let perm = p.isEmpty ? Array((0..<rank).reversed()) : p
        guard perm.count == rank, Set(perm) == Set(0..<rank) else { throw .shape(node: node, reason: "perm \(p) for \(x.shape)") }
        let shape = perm.map { x.shape[$0] }
        var inStrides = [Int](repeating: 1, count: rank)
        for i in stride(from: rank - 2, through: 0, by: -1) { inStrides[i] = inStrides[i + 1] * x.shape[i + 1] }
        let st = perm.map { inStrides[$0] }
        var out = [Float](repeating: 0, count: x.count)
        guard x.count > 0 else { return Value(shape: shape, data: out, isInteger: x.isInteger) }
        let inner = shape[rank - 1], innerStride = st[rank - 1]
        var index = [Int](repeating: 0, count: rank)
        var o = 0
        while o < x.count {
            var src = 0
            for d in 0..<(rank - 1) { src += index[d] * st[d] }
            for k in 0..<inner { out[o + k] = x.data[src + k * innerStride] }
            o += inner
            var d = rank - 2
            while d >= 0 { index[d] += 1; if index[d] < shape[d] { break }; index[d] = 0; d -= 1 }
        }
        return Value(shape: shape, data: out, isInteger: x.isInteger)
    }

    static func slice(_ x: Value, starts: Value, ends: Value, axes: Value?, steps: Value?, node: String) throws(OCRError) -> Value {
        let rank = x.shape.count
        let axesList = axes?.data.map { Int($0) } ?? Array(0..<starts.count)
        guard starts.count == axesList.count, ends.count == axesList.count else { throw .shape(node: node, reason: "slice arguments differ in length") }
        var begin = [Int](repeating: 0, count: rank), end = x.shape, step = [Int](repeating: 1, count: rank)
        for (k, axis) in axesList.enumerated() {
            let a = axis < 0 ? axis + rank : axis
            guard a >= 0, a < rank else { throw .shape(node: node, reason: "slice axis \(axis) of \(x.shape)") }
            let dim = x.shape[a]
            let s = steps.map { Int($0.data[k]) } ?? 1
            guard s == 1 else { throw .shape(node: node, reason: "slice steps other than 1 are not supported") }
            func clampIndex(_ v: Float) -> Int {
                let i = v >= Float(Int32.max) ? dim : v <= Float(Int32.min) ? -dim - 1 : Int(v)
                return min(max(i < 0 ? i + dim : i, 0), dim)
            }
            begin[a] = clampIndex(starts.data[k])
            end[a] = max(clampIndex(ends.data[k]), begin[a])
            step[a] = s
        }
        let shape = (0..<rank).map { end[$0] - begin[$0] }
        var out: [Float] = []
        out.reserveCapacity(shape.reduce(1, *))
        var strides = [Int](repeating: 1, count: rank)
        for i in stride(from: rank - 2, through: 0, by: -1) { strides[i] = strides[i + 1] * x.shape[i + 1] }
        func walk(_ d: Int, _ offset: Int) {
            if d == rank { out.append(x.data[offset]); return }
            for i in begin[d]..<end[d] { walk(d + 1, offset + i * strides[d]) }
        }
        if shape.allSatisfy({ $0 > 0 }) { walk(0, 0) }
        return Value(shape: shape, data: out, isInteger: x.isInteger)
    }

    /// numpy matmul for rank >= 2 with broadcast batch dims (B often a 2-D weight).
    static func matMul(_ a: Value, _ b: Value, node: String, pool: ThreadPool) throws(OCRError) -> Value {
        guard a.shape.count >= 2, b.shape.count >= 2 else { throw .shape(node: node, reason: "MatMul of \(a.shape) and \(b.shape)") }
        let m = a.shape[a.shape.count - 2], k = a.shape[a.shape.count - 1]
        let k2 = b.shape[b.shape.count - 2], n = b.shape[b.shape.count - 1]
        guard k == k2, let batchShape = broadcastShape(Array(a.shape.dropLast(2)), Array(b.shape.dropLast(2))) else {
            throw .shape(node: node, reason: "MatMul of \(a.shape) and \(b.shape)")
        }
        let batch = batchShape.reduce(1, *)
        let aBatch = a.shape.dropLast(2).reduce(1, *), bBatch = b.shape.dropLast(2).reduce(1, *)
        guard (aBatch == batch || aBatch == 1), (bBatch == batch || bBatch == 1) else {
            throw .shape(node: node, reason: "MatMul batch broadcasting of \(a.shape) and \(b.shape) is not supported")
        }
        var out = [Float](repeating: 0, count: batch * m * n)
        a.data.withUnsafeBufferPointer { ab in
            b.data.withUnsafeBufferPointer { bb in
                out.withUnsafeMutableBufferPointer { ob in
                    if bBatch == 1 && aBatch == batch {
                        // One GEMM over all batch rows: (batch·m, k) x (k, n).
                        sgemm(m: batch * m, n: n, k: k, a: ab.baseAddress!, lda: k, b: bb.baseAddress!, ldb: n, c: ob.baseAddress!, ldc: n, pool: pool)
                    } else {
                        sgemmBatched(m: m, n: n, k: k, a: ab.baseAddress!, lda: k, strideA: aBatch == 1 ? 0 : m * k,
                                     b: bb.baseAddress!, ldb: n, strideB: bBatch == 1 ? 0 : k * n,
                                     c: ob.baseAddress!, ldc: n, strideC: m * n, batch: batch, pool: pool)
                    }
                }
            }
        }
        return Value(shape: batchShape + [m, n], data: out)
    }
}
