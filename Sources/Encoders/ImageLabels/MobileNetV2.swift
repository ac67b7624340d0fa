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
    static let batchNormEpsilon = 1e-5
    /// torchvision's inverted_residual_setting: expansion t, output channels c, repeats n, first stride s.
    static let stages: [(t: Int, c: Int, n: Int, s: Int)] = [
        (1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1),
    ]

    // MARK: - Weights

    /// A convolution with its BatchNorm folded in.
    struct Conv {
        let shape: Conv2dShape // for its input size; height / width set per call
        let weight: [Float] // (out, in / groups, k, k)
        let bias: [Float] // (out)
    }

    struct Block {
        let expand: Conv? // features.N.conv.0 (absent for expansion 1)
        let depthwise: Conv // features.N.conv.0 or .1
        let project: Conv // features.N.conv.(1|2) + features.N.conv.(2|3) (BN)
        let stride: Int
        /// The input is added back when the block keeps the resolution and the channel count.
        var residual: Bool { stride == 1 && (expand ?? depthwise).shape.inChannels == project.shape.outChannels }
    }

    let stem: Conv // features.0.0 + features.0.1
    let blocks: [Block] // features.1 ... features.17
    let head: Conv // features.18.0 + features.18.1
    let classifier: PackedLinear // classifier.1.weight (1000, 1280), classifier.1.bias (1000)

    public let path: String

    public init(file: some TensorFile) throws(ModelLoadError) {
        path = file.path
        func conv(_ convName: String, bn: String, inChannels: Int, outChannels: Int, kernel: Int, stride: Int = 1,
                  groups: Int = 1) throws(ModelLoadError) -> Conv {
            let w = try file.floats(convName + ".weight", shape: [outChannels, inChannels / groups, kernel, kernel])
            let gamma = try file.floats(bn + ".weight", shape: [outChannels]), beta = try file.floats(bn + ".bias", shape: [outChannels])
            let mean = try file.floats(bn + ".running_mean", shape: [outChannels])
            let variance = try file.floats(bn + ".running_var", shape: [outChannels])
            let perFilter = w.count / outChannels
            var folded = w, bias = [Float](repeating: 0, count: outChannels)
            for o in 0..<outChannels {
                let scale = Double(gamma[o]) / (Double(variance[o]) + Self.batchNormEpsilon).squareRoot()
                for i in 0..<perFilter { folded[o * perFilter + i] = Float(Double(w[o * perFilter + i]) * scale) }
                bias[o] = Float(Double(beta[o]) - Double(mean[o]) * scale)
            }
            let shape = Conv2dShape(inChannels: inChannels, outChannels: outChannels, height: 1, width: 1, kernel: kernel,
                                    stride: stride, padding: (kernel - 1) / 2, groups: groups)
            return Conv(shape: shape, weight: folded, bias: bias)
        }

        stem = try conv("features.0.0", bn: "features.0.1", inChannels: Self.inputChannels, outChannels: Self.stemChannels,
                        kernel: 3, stride: 2)
        var blocks: [Block] = []
        var channels = Self.stemChannels
        var index = 1
        for stage in Self.stages {
            for r in 0..<stage.n {
                let p = "features.\(index).conv"
                let stride = r == 0 ? stage.s : 1
                let hidden = channels * stage.t
                var expand: Conv? = nil
                var next = 0 // index of the next module inside features.N.conv
                if stage.t != 1 {
                    expand = try conv("\(p).0.0", bn: "\(p).0.1", inChannels: channels, outChannels: hidden, kernel: 1)
                    next = 1
                }
                let depthwise = try conv("\(p).\(next).0", bn: "\(p).\(next).1", inChannels: hidden, outChannels: hidden,
                                         kernel: 3, stride: stride, groups: hidden)
                let project = try conv("\(p).\(next + 1)", bn: "\(p).\(next + 2)", inChannels: hidden, outChannels: stage.c, kernel: 1)
                blocks.append(Block(expand: expand, depthwise: depthwise, project: project, stride: stride))
                channels = stage.c
                index += 1
            }
        }
        self.blocks = blocks
        head = try conv("features.\(index).0", bn: "features.\(index).1", inChannels: channels, outChannels: Self.embeddingSize,
                        kernel: 1)
        let fcWeight = try file.floats("classifier.1.weight", shape: [Self.classCount, Self.embeddingSize])
        let fcBias = try file.floats("classifier.1.bias", shape: [Self.classCount])
        do {
            classifier = try PackedLinear(weight: fcWeight, outFeatures: Self.classCount, inFeatures: Self.embeddingSize, bias: fcBias)
        } catch {
            throw .unexpectedShape(path: path, name: "classifier.1.weight", expected: "[1000, 1280]", found: [fcWeight.count])
        }
        scratch = Scratch(blocks: blocks, stem: stem)
    }

    // MARK: - Scratch

    /// Three activation buffers the layers rotate through, each as large as the largest
    /// activation (the expanded 96 × 112 × 112 of features.2), allocated once.
    final class Scratch {
        let count: Int
        let a, b, c: UnsafeMutablePointer<Float>

        init(blocks: [Block], stem: Conv) {
            var largest = stem.shape.outChannels * (MobileNetV2.inputSize / 2) * (MobileNetV2.inputSize / 2)
            var side = MobileNetV2.inputSize / 2
            for block in blocks {
                largest = max(largest, block.depthwise.shape.inChannels * side * side)
                side = (side + block.stride - 1) / block.stride
            }
            count = largest
            a = .allocate(capacity: count); b = .allocate(capacity: count); c = .allocate(capacity: count)
        }

        deinit { a.deallocate(); b.deallocate(); c.deallocate() }
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
        var side = Self.inputSize
        var cur = scratch.a, t1 = scratch.b, t2 = scratch.c
        side = try run(stem, x, side: side, into: cur, relu6: true, pool: pool) // (32, 112, 112)
        for block in blocks {
            var h = UnsafePointer(cur)
            if let expand = block.expand {
                _ = try run(expand, h, side: side, into: t1, relu6: true, pool: pool) // (hidden, side, side)
                h = UnsafePointer(t1)
            }
            let out = try run(block.depthwise, h, side: side, into: t2, relu6: true, pool: pool) // (hidden, out, out)
            _ = try run(block.project, t2, side: out, into: t1, relu6: false, pool: pool) // (c, out, out)
            let n = block.project.shape.outChannels * out * out
            if block.residual { add(t1, cur, count: n, into: t1) }
            swap(&cur, &t1)
            side = out
        }
        side = try run(head, cur, side: side, into: t1, relu6: true, pool: pool) // (1280, 7, 7)
        let positions = side * side
        for c in 0..<Self.embeddingSize { embedding[c] = sum(t1 + c * positions, count: positions) / Float(positions) }
    }

    /// One folded conv (+ ReLU6) on a (in, side, side) activation; returns the output side.
    private func run(_ conv: Conv, _ x: UnsafePointer<Float>, side: Int, into y: UnsafeMutablePointer<Float>, relu6 clamp: Bool,
                     pool: ThreadPool) throws -> Int {
        var shape = conv.shape
        shape.height = side
        shape.width = side
        try conv.weight.withUnsafeBufferPointer { w in
            try conv.bias.withUnsafeBufferPointer { b in
                try conv2d(x, shape: shape, weight: w.baseAddress!, bias: b.baseAddress!, output: y, pool: pool)
            }
        }
        if clamp { relu6(y, count: shape.outChannels * shape.outHeight * shape.outWidth, pool: pool) }
        return shape.outHeight
    }
}
