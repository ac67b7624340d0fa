// MTCNN's three networks (Zhang et al. 2016, "Joint Face Detection and Alignment using
// Multi-task Cascaded Convolutional Networks") as facenet-pytorch defines them
// (facenet_pytorch/models/mtcnn.py: PNet, RNet, ONet), on Sightline's kernels. Each network
// is a blueprint (a list of layers named as the checkpoint names them), its weights
// (read from the state dict by those names, shapes checked) and a forward pass over a batch.
//
// Activations are channel-major over the batch, (channels, batch, height, width), so a
// convolution over every crop is one GEMM (Kernels' conv2dBatch) and per-channel PReLU and
// the max pools see contiguous rows and planes. Inputs are RGB scaled as facenet-pytorch
// scales them: (pixel - 127.5) × 0.0078125.
//
//   P-Net (any size ≥ 12): conv1 3→10 k3, prelu1, pool1 2/2, conv2 10→16 k3, prelu2,
//          conv3 16→32 k3, prelu3; heads conv4_1 32→2 (face / not), conv4_2 32→4 (box offsets)
//   R-Net (24×24): conv1 3→28 k3, prelu1, pool1 3/2, conv2 28→48 k3, prelu2, pool2 3/2,
//          conv3 48→64 k2, prelu3, dense4 576→128, prelu4; heads dense5_1 →2, dense5_2 →4
//   O-Net (48×48): conv1 3→32 k3, prelu1, pool1 3/2, conv2 32→64 k3, prelu2, pool2 3/2,
//          conv3 64→64 k3, prelu3, pool3 2/2, conv4 64→128 k2, prelu4, dense5 1152→256,
//          prelu5; heads dense6_1 →2, dense6_2 →4, dense6_3 →10 (landmarks)
// Every max pool uses ceil_mode=True. Before the first dense layer torch permutes the
// (N, C, H, W) activations to (N, W, H, C) and flattens them: the flatten step here gathers
// in that order, so the dense weights are used exactly as stored.
import Kernels
import ModelIO

/// One MTCNN network: blueprint, weights and forward pass.
struct MTCNNNetwork: Sendable {
    enum Layer: Sendable {
        /// `<name>.weight` (out, in, k, k), `<name>.bias` (out); stride 1, no padding.
        case conv(String, inChannels: Int, outChannels: Int, kernel: Int)
        /// `<name>.weight` (channels): one slope per channel.
        case prelu(String, channels: Int)
        /// Max pool, ceil_mode=True, no padding.
        case maxPool(kernel: Int, stride: Int)
        /// (C, N, H, W) → (N, W·H·C) in torch's permute(0, 3, 2, 1) order.
        case flatten
        /// `<name>.weight` (out, in), `<name>.bias` (out).
        case dense(String, inFeatures: Int, outFeatures: Int)
    }

    /// Output heads, each a 1×1 convolution (P-Net) or dense layer (R-, O-Net) on the trunk's
    /// output, stacked into one layer in this order: face logits (2), box offsets (4), then
    /// landmarks (10, O-Net only).
    struct Head: Sendable {
        let name: String
        let outputs: Int
    }

    // MARK: - Blueprints (facenet_pytorch/models/mtcnn.py)

    static let pnetLayers: [Layer] = [
        .conv("conv1", inChannels: 3, outChannels: 10, kernel: 3), .prelu("prelu1", channels: 10), .maxPool(kernel: 2, stride: 2),
        .conv("conv2", inChannels: 10, outChannels: 16, kernel: 3), .prelu("prelu2", channels: 16),
        .conv("conv3", inChannels: 16, outChannels: 32, kernel: 3), .prelu("prelu3", channels: 32),
    ]
    static let pnetHeads = [Head(name: "conv4_1", outputs: 2), Head(name: "conv4_2", outputs: 4)]

    static let rnetLayers: [Layer] = [
        .conv("conv1", inChannels: 3, outChannels: 28, kernel: 3), .prelu("prelu1", channels: 28), .maxPool(kernel: 3, stride: 2),
        .conv("conv2", inChannels: 28, outChannels: 48, kernel: 3), .prelu("prelu2", channels: 48), .maxPool(kernel: 3, stride: 2),
        .conv("conv3", inChannels: 48, outChannels: 64, kernel: 2), .prelu("prelu3", channels: 64),
        .flatten, .dense("dense4", inFeatures: 576, outFeatures: 128), .prelu("prelu4", channels: 128),
    ]
    static let rnetHeads = [Head(name: "dense5_1", outputs: 2), Head(name: "dense5_2", outputs: 4)]

    static let onetLayers: [Layer] = [
        .conv("conv1", inChannels: 3, outChannels: 32, kernel: 3), .prelu("prelu1", channels: 32), .maxPool(kernel: 3, stride: 2),
        .conv("conv2", inChannels: 32, outChannels: 64, kernel: 3), .prelu("prelu2", channels: 64), .maxPool(kernel: 3, stride: 2),
        .conv("conv3", inChannels: 64, outChannels: 64, kernel: 3), .prelu("prelu3", channels: 64), .maxPool(kernel: 2, stride: 2),
        .conv("conv4", inChannels: 64, outChannels: 128, kernel: 2), .prelu("prelu4", channels: 128),
        .flatten, .dense("dense5", inFeatures: 1152, outFeatures: 256), .prelu("prelu5", channels: 256),
    ]
    static let onetHeads = [Head(name: "dense6_1", outputs: 2), Head(name: "dense6_2", outputs: 4),
                            Head(name: "dense6_3", outputs: 10)]

    // MARK: - Weights

    let layers: [Layer]
    let heads: [Head]
    /// Per layer: its weight (conv / dense / prelu) and bias (conv / dense), empty otherwise.
    private let weights: [[Float]]
    private let biases: [[Float]]
    /// The heads stacked: (headOutputs, trunkChannels) and (headOutputs).
    private let headWeight: [Float]
    private let headBias: [Float]
    let headOutputs: Int
    /// Channels (P-Net) or features (R-, O-Net) the trunk hands to the heads.
    let trunkOutputs: Int

    init(file: any TensorFile, layers: [Layer], heads: [Head]) throws(ModelLoadError) {
        var weights: [[Float]] = [], biases: [[Float]] = []
        var last = 0
        for layer in layers {
            switch layer {
            case let .conv(name, cin, cout, k):
                weights.append(try file.floats("\(name).weight", shape: [cout, cin, k, k]))
                biases.append(try file.floats("\(name).bias", shape: [cout]))
                last = cout
            case let .prelu(name, channels):
                weights.append(try file.floats("\(name).weight", shape: [channels]))
                biases.append([])
            case .maxPool, .flatten:
                weights.append([]); biases.append([])
            case let .dense(name, fin, fout):
                weights.append(try file.floats("\(name).weight", shape: [fout, fin]))
                biases.append(try file.floats("\(name).bias", shape: [fout]))
                last = fout
            }
        }
        let convHeads = !layers.contains { if case .flatten = $0 { return true } else { return false } }
        var hw: [Float] = [], hb: [Float] = []
        for head in heads {
            let shape = convHeads ? [head.outputs, last, 1, 1] : [head.outputs, last]
            hw += try file.floats("\(head.name).weight", shape: shape)
            hb += try file.floats("\(head.name).bias", shape: [head.outputs])
        }
        self.layers = layers
        self.heads = heads
        self.weights = weights
        self.biases = biases
        headWeight = hw
        headBias = hb
        headOutputs = heads.reduce(0) { $0 + $1.outputs }
        trunkOutputs = last
    }

    // MARK: - Forward

    /// P-Net style (no flatten): input (3, batch, height, width) → (headOutputs, batch, outH,
    /// outW) with the raw head values (logits, offsets); `outSize` is (outH, outW).
    /// R-/O-Net style (flatten): input (3, batch, S, S) → (batch, headOutputs).
    func forward(_ input: [Float], batch: Int, height: Int, width: Int,
                 pool: ThreadPool) throws -> (output: [Float], outHeight: Int, outWidth: Int) {
        var x = input // (channels, batch, h, w), or (batch, features) after flatten
        var channels = 3, h = height, w = width
        var flat = false
        for (i, layer) in layers.enumerated() {
            switch layer {
            case let .conv(_, cin, cout, k):
                let shape = Conv2dShape(inChannels: cin, outChannels: cout, height: h, width: w, kernel: k)
                var y = [Float](repeating: 0, count: cout * batch * shape.outHeight * shape.outWidth) // (cout, batch, oh, ow)
                try conv2dBatch(x, batch: batch, shape: shape, weight: weights[i], bias: biases[i], output: &y, pool: pool)
                x = y
                channels = cout; h = shape.outHeight; w = shape.outWidth
            case let .prelu(_, c):
                if flat {
                    preluRows(&x, rows: batch, channels: c, slope: weights[i])
                } else {
                    prelu(&x, channels: c, planeCount: batch * h * w, slope: weights[i], pool: pool)
                }
            case let .maxPool(k, s):
                let oh = maxPoolOutputSize(h, kernel: k, stride: s, ceilMode: true)
                let ow = maxPoolOutputSize(w, kernel: k, stride: s, ceilMode: true)
                var y = [Float](repeating: 0, count: channels * batch * oh * ow) // (channels, batch, oh, ow)
                maxPool2d(x, planes: channels * batch, height: h, width: w, kernel: k, stride: s, ceilMode: true,
                          output: &y, pool: pool)
                x = y
                h = oh; w = ow
            case .flatten:
                x = Self.flattenTorchOrder(x, channels: channels, batch: batch, height: h, width: w)
                flat = true
            case let .dense(_, fin, fout):
                x = Self.dense(x, rows: batch, inFeatures: fin, outFeatures: fout, weight: weights[i], bias: biases[i], pool: pool)
            }
        }
        if flat {
            let y = Self.dense(x, rows: batch, inFeatures: trunkOutputs, outFeatures: headOutputs, weight: headWeight,
                               bias: headBias, pool: pool)
            return (y, 1, 1)
        }
        let shape = Conv2dShape(inChannels: trunkOutputs, outChannels: headOutputs, height: h, width: w, kernel: 1)
        var y = [Float](repeating: 0, count: headOutputs * batch * h * w) // (headOutputs, batch, h, w)
        try conv2dBatch(x, batch: batch, shape: shape, weight: headWeight, bias: headBias, output: &y, pool: pool)
        return (y, h, w)
    }

    /// (channels, batch, h, w) → (batch, w·h·channels), feature index (x·h + y)·channels + c.
    private static func flattenTorchOrder(_ x: [Float], channels: Int, batch: Int, height h: Int, width w: Int) -> [Float] {
        let features = channels * h * w
        var out = [Float](repeating: 0, count: batch * features) // (batch, features)
        for n in 0..<batch {
            for c in 0..<channels {
                let plane = (c * batch + n) * h * w
                for y in 0..<h {
                    for xx in 0..<w { out[n * features + (xx * h + y) * channels + c] = x[plane + y * w + xx] }
                }
            }
        }
        return out
    }

    /// x (rows, inFeatures) · weightᵀ (inFeatures, outFeatures) + bias → (rows, outFeatures).
    private static func dense(_ x: [Float], rows: Int, inFeatures: Int, outFeatures: Int, weight: [Float], bias: [Float],
                              pool: ThreadPool) -> [Float] {
        var y = [Float](repeating: 0, count: rows * outFeatures) // (rows, outFeatures)
        for r in 0..<rows { for o in 0..<outFeatures { y[r * outFeatures + o] = bias[o] } }
        sgemm(transB: true, m: rows, n: outFeatures, k: inFeatures, a: x, lda: inFeatures, b: weight, ldb: inFeatures,
              beta: 1, c: &y, ldc: outFeatures, pool: pool)
        return y
    }
}
