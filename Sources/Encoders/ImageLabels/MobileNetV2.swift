// MobileNetV2 (Sandler et al. 2018) exactly as torchvision builds it (models/mobilenetv2.py,
// width 1.0, ImageNet-1k), on our kernels. Input (3, 224, 224) normalised RGB; outputs the
// 1000 class logits and the 1280-d globally pooled features that feed the classifier (the
// picture's embedding).
//   features.0       conv 3×3 stride 2, 3 → 32, BN, ReLU6                     (32, 112, 112)
//   features.1       inverted residual, expansion 1: depthwise 3×3, BN, ReLU6;
//                    1×1 projection, BN (no activation)                         (16, 112, 112)
//   features.2-17    inverted residuals, expansion 6: 1×1 expansion, BN, ReLU6; depthwise
//                    3×3 (stride 1 or 2), BN, ReLU6; 1×1 projection, BN; plus the input when
//                    stride is 1 and channels are unchanged                     … (320, 7, 7)
//   features.18      conv 1×1, 320 → 1280, BN, ReLU6                           (1280, 7, 7)
//   pool             mean over the 7 × 7 positions                             (1280)  = embedding
//   classifier.1     linear 1280 → 1000 (classifier.0 is dropout, a no-op at inference)
// Every BatchNorm (eps 1e-5) is folded into the convolution before it at load time:
// w' = w · γ / √(σ² + ε), b' = β − μ · γ / √(σ² + ε). Weight names are the checkpoint's.
// Activations are kept channels-last, (pixels, channels): every 1×1 convolution is then one
// PointwiseConv against weights packed once at load, with bias, ReLU6 and the residual applied
// as each tile is stored; each inverted residual block runs as one Kernels.InvertedResidual
// (expansion, depthwise with ReLU6 and projection in row bands that stay in L2), and the stem
// is a pointwise product over its 27-wide 3×3×3 patches.
import Kernels
import ModelIO
import Synchronization

public final class MobileNetV2: @unchecked Sendable { // weights immutable; scratch guarded by `lock`
    // MARK: - Blueprint

    public static let inputSize = 224
    public static let inputChannels = 3
    public static let embeddingSize = 1280
    public static let classCount = 1000
    static let stemChannels = 32
    static let stemKernel = 3
    static let stemStride = 2
    static let depthwiseKernel = 3
    static let batchNormEpsilon = 1e-5
    /// torchvision's inverted_residual_setting: expansion t, output channels c, repeats n, first stride s.
    static let stages: [(t: Int, c: Int, n: Int, s: Int)] = [
        (1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1),
    ]

    // MARK: - Weights

    /// A 1×1 convolution with its BatchNorm folded in, over channels-last pixels; bias and
    /// activation (ReLU6, or none for a projection) fused into the kernel's store.
    struct Pointwise {
        let conv: PointwiseConv // weight (out, in), bias (out)
        var inChannels: Int { conv.inChannels }
        var outChannels: Int { conv.outChannels }
    }

    /// A 3×3 depthwise convolution with its BatchNorm folded in.
    struct Depthwise {
        let channels: Int
        let stride: Int
        let weight: [Float] // (9, channels), tap-major
        let bias: [Float] // (channels)
    }

    let stem: Pointwise // features.0.0 + features.0.1: (32, 3·3·3) over patches (ci, ky, kx)
    /// features.1 ... features.17, each expansion (absent for expansion 1), depthwise and
    /// projection run as one fused block (Kernels.InvertedResidual).
    let blocks: [InvertedResidual]
    let head: Pointwise // features.18.0 + features.18.1
    let classifier: PackedLinear // classifier.1.weight (1000, 1280), classifier.1.bias (1000)

    public let path: String

    public init(file: some TensorFile) throws(ModelLoadError) {
        let path = file.path
        self.path = path
        /// conv `convName` (out, in / groups, k, k) with BatchNorm `bn` folded in: weight (out, in / groups · k · k), bias (out).
        func folded(_ convName: String, bn: String, inChannels: Int, outChannels: Int, kernel: Int,
                    groups: Int = 1) throws(ModelLoadError) -> (weight: [Float], bias: [Float]) {
            let w = try file.floats(convName + ".weight", shape: [outChannels, inChannels / groups, kernel, kernel])
            let gamma = try file.floats(bn + ".weight", shape: [outChannels]), beta = try file.floats(bn + ".bias", shape: [outChannels])
            let mean = try file.floats(bn + ".running_mean", shape: [outChannels])
            let variance = try file.floats(bn + ".running_var", shape: [outChannels])
            let perFilter = w.count / outChannels
            var weight = w, bias = [Float](repeating: 0, count: outChannels)
            for o in 0..<outChannels {
                let scale = Double(gamma[o]) / (Double(variance[o]) + Self.batchNormEpsilon).squareRoot()
                for i in 0..<perFilter { weight[o * perFilter + i] = Float(Double(w[o * perFilter + i]) * scale) }
                bias[o] = Float(Double(beta[o]) - Double(mean[o]) * scale)
            }
            return (weight, bias)
        }
        func linear(_ name: String, _ f: (weight: [Float], bias: [Float]), out: Int, in: Int,
                    withBias: Bool = true) throws(ModelLoadError) -> PackedLinear {
            do {
                return try PackedLinear(weight: f.weight, outFeatures: out, inFeatures: `in`, bias: withBias ? f.bias : nil)
            } catch {
                throw .unexpectedShape(path: path, name: name, expected: "[\(out), \(`in`)]", found: [f.weight.count])
            }
        }
        func pointwise(_ name: String, _ f: (weight: [Float], bias: [Float]), out: Int, in: Int, relu6: Bool) throws(ModelLoadError) -> Pointwise {
            do {
                return Pointwise(conv: try PointwiseConv(weight: f.weight, outChannels: out, inChannels: `in`, bias: f.bias,
                                                         layout: .channelsLast, activation: relu6 ? .relu6 : .none))
            } catch {
                throw .unexpectedShape(path: path, name: name, expected: "[\(out), \(`in`)]", found: [f.weight.count])
            }
        }
        func pointwise(_ convName: String, bn: String, inChannels: Int, outChannels: Int, relu6: Bool) throws(ModelLoadError) -> Pointwise {
            let f = try folded(convName, bn: bn, inChannels: inChannels, outChannels: outChannels, kernel: 1)
            return try pointwise(convName + ".weight", f, out: outChannels, in: inChannels, relu6: relu6)
        }
        func depthwise(_ convName: String, bn: String, channels: Int, stride: Int) throws(ModelLoadError) -> Depthwise {
            let f = try folded(convName, bn: bn, inChannels: channels, outChannels: channels, kernel: Self.depthwiseKernel, groups: channels)
            let taps = Self.depthwiseKernel * Self.depthwiseKernel
            var tapMajor = [Float](repeating: 0, count: taps * channels) // (9, channels) from (channels, 9)
            for c in 0..<channels { for t in 0..<taps { tapMajor[t * channels + c] = f.weight[c * taps + t] } }
            return Depthwise(channels: channels, stride: stride, weight: tapMajor, bias: f.bias)
        }

        let patch = Self.inputChannels * Self.stemKernel * Self.stemKernel
        let stemFolded = try folded("features.0.0", bn: "features.0.1", inChannels: Self.inputChannels,
                                    outChannels: Self.stemChannels, kernel: Self.stemKernel)
        stem = try pointwise("features.0.0.weight", stemFolded, out: Self.stemChannels, in: patch, relu6: true)
        var blocks: [InvertedResidual] = []
        var channels = Self.stemChannels
        var index = 1
        for stage in Self.stages {
            for r in 0..<stage.n {
                let p = "features.\(index).conv"
                let hidden = channels * stage.t
                var expand: Pointwise? = nil
                var next = 0 // index of the next module inside features.N.conv
                if stage.t != 1 {
                    expand = try pointwise("\(p).0.0", bn: "\(p).0.1", inChannels: channels, outChannels: hidden, relu6: true)
                    next = 1
                }
                let dw = try depthwise("\(p).\(next).0", bn: "\(p).\(next).1", channels: hidden, stride: r == 0 ? stage.s : 1)
                let project = try pointwise("\(p).\(next + 1)", bn: "\(p).\(next + 2)", inChannels: hidden, outChannels: stage.c, relu6: false)
                do {
                    // The input is added back when the block keeps the resolution and the channel count.
                    blocks.append(try InvertedResidual(expand: expand?.conv, depthwiseWeight: dw.weight, depthwiseBias: dw.bias,
                                                       kernel: Self.depthwiseKernel, stride: dw.stride, project: project.conv,
                                                       residual: dw.stride == 1 && channels == stage.c))
                } catch {
                    throw .unexpectedShape(path: path, name: "features.\(index)", expected: "an inverted residual \(channels) -> \(hidden) -> \(stage.c)",
                                           found: [dw.weight.count])
                }
                channels = stage.c
                index += 1
            }
        }
        self.blocks = blocks
        head = try pointwise("features.\(index).0", bn: "features.\(index).1", inChannels: channels, outChannels: Self.embeddingSize,
                             relu6: true)
        let fc = (weight: try file.floats("classifier.1.weight", shape: [Self.classCount, Self.embeddingSize]),
                  bias: try file.floats("classifier.1.bias", shape: [Self.classCount]))
        classifier = try linear("classifier.1.weight", fc, out: Self.classCount, in: Self.embeddingSize)
        scratch = Scratch(blocks: blocks)
    }

    // MARK: - Scratch

    /// Two activation buffers the layers alternate between, each as large as the largest block
    /// input or output (the stem's patches); the blocks keep their expanded tensors in their
    /// own per-thread bands.
    final class Scratch {
        let count: Int
        let a, b: UnsafeMutablePointer<Float>

        init(blocks: [InvertedResidual]) {
            var side = MobileNetV2.inputSize / MobileNetV2.stemStride
            var largest = side * side * max(MobileNetV2.stemChannels, MobileNetV2.inputChannels * 9) // stem output / patches
            for block in blocks {
                largest = max(largest, side * side * max(block.inChannels, block.outChannels))
                side = (side + block.stride - 1) / block.stride
            }
            count = largest
            a = .allocate(capacity: count); b = .allocate(capacity: count)
        }

        deinit { a.deallocate(); b.deallocate() }
    }

    private let scratch: Scratch
    private let lock = Mutex<Void>(())

    // MARK: - Forward

    /// Runs the network on `count` pictures, each (3, 224, 224) floats in `input`; writes
    /// `logits` (count, 1000) and `embeddings` (count, 1280).
    public func forward(_ input: UnsafePointer<Float>, count: Int, logits: UnsafeMutablePointer<Float>,
                        embeddings: UnsafeMutablePointer<Float>, pool: ThreadPool = .shared) throws {
        let pixels = Self.inputChannels * Self.inputSize * Self.inputSize
        try lock.withLock { _ throws(any Error) -> Void in
            for n in 0..<count {
                try features(input + n * pixels, embedding: embeddings + n * Self.embeddingSize, pool: pool)
            }
        }
        classifier.forward(embeddings, rows: count, into: logits, pool: pool)
    }

    /// One picture through features.0-18 and the pool.
    private func features(_ x: UnsafePointer<Float>, embedding: UnsafeMutablePointer<Float>, pool: ThreadPool) throws {
        var cur = scratch.a, t1 = scratch.b
        var side = Self.inputSize / Self.stemStride
        stemPatches(x, into: t1, pool: pool) // (112 · 112, 27)
        try run(stem, t1, rows: side * side, into: cur, pool: pool) // (112 · 112, 32)
        for block in blocks {
            // torchvision pads 1 on every side (the 3×3 depthwise of every block).
            let out = (side + 2 - Self.depthwiseKernel) / block.stride + 1
            let shape = block.shape(height: side, width: side, padTop: 1, padLeft: 1, outHeight: out, outWidth: out)
            try block.forward(cur, shape: shape, into: t1, pool: pool) // (side², in) -> (out², c)
            swap(&cur, &t1)
            side = out
        }
        let positions = side * side
        try run(head, cur, rows: positions, into: t1, pool: pool) // (7 · 7, 1280)
        embedding.update(repeating: 0, count: Self.embeddingSize)
        for p in 0..<positions { add(embedding, t1 + p * Self.embeddingSize, count: Self.embeddingSize, into: embedding) }
        scale(embedding, count: Self.embeddingSize, by: 1 / Float(positions))
    }

    /// A 1×1 convolution over `rows` pixels: bias, the layer's activation and, for a
    /// projection with a residual connection, the block's input (`residual`, (rows, out))
    /// applied as the kernel stores each tile.
    private func run(_ pw: Pointwise, _ x: UnsafePointer<Float>, rows: Int, into y: UnsafeMutablePointer<Float>,
                     residual: UnsafeMutablePointer<Float>? = nil, pool: ThreadPool) throws {
        try pw.conv.forward(x, pixels: rows, into: y, residual: residual.map { UnsafePointer($0) }, pool: pool)
    }

    /// The stem's 3×3 stride-2 patches (padding 1) of the (3, 224, 224) input: (112 · 112, 27),
    /// column ci · 9 + ky · 3 + kx, the order of the conv weight's (in, ky, kx) axes.
    private func stemPatches(_ x: UnsafePointer<Float>, into cols: UnsafeMutablePointer<Float>, pool: ThreadPool) {
        let n = Self.inputSize, k = Self.stemKernel, s = Self.stemStride, out = n / s, patch = Self.inputChannels * k * k
        pool.parallelFor(out, minChunk: 8) { rows in
            for oy in rows {
                let row = cols + oy * out * patch
                for ci in 0..<Self.inputChannels {
                    for ky in 0..<k {
                        let iy = oy * s - 1 + ky
                        let column = row + (ci * k + ky) * k // + ox · patch + kx
                        guard iy >= 0 && iy < n else {
                            for ox in 0..<out { for kx in 0..<k { column[ox &* patch &+ kx] = 0 } }
                            continue
                        }
                        let src = x + (ci * n + iy) * n - 1 // src[ox · s + kx] is x[ci][iy][ox · s − 1 + kx]
                        // ox = 0 reads the left padding; every other window lies inside the row
                        // (ox · 2 + 1 ≤ 223).
                        column[0] = 0
                        column[1] = src[1]
                        column[2] = src[2]
                        for ox in 1..<out {
                            let d = column + ox &* patch, from = src + ox &* s
                            d[0] = from[0]
                            d[1] = from[1]
                            d[2] = from[2]
                        }
                    }
                }
            }
        }
    }
}
