// SSDLite MobileNetV2 (TensorFlow Object Detection API, `ssd_mobilenet_v2` feature extractor
// with depthwise box predictors), 300 × 300 input, as a fixed architecture on our kernels.
// Weights come from a frozen GraphDef's Const nodes by name; every batch norm (FusedBatchNorm
// with constant mean / variance / gamma / beta, left unfolded by the export) is folded into
// its convolution at load. Before anything is loaded the graph's own nodes are checked
// against the architecture below (op, strides, SAME padding, and which node feeds which), so
// a different graph fails with the node that differs instead of computing garbage.
//
// Layout: activations are channels-last like TensorFlow's, (side, side, channels), so a 1×1
// convolution is one Kernels PointwiseConv over pixels with weights packed once at load and
// bias, ReLU6 and the block's residual applied as each tile is stored, depthwise layers run
// Kernels' channels-last depthwise loop with bias and ReLU6 fused, every inverted residual
// block but block 13 runs as one Kernels.InvertedResidual (expansion, depthwise and
// projection in row bands that keep the expanded tensor in L2), and the heads' outputs are
// already in TensorFlow's (row, column, anchor) order.
// TensorFlow's weights (kH, kW, in, out) become (out, kH·kW·in); depthwise filters
// (kH, kW, channels, 1) are used as stored.
//
//   image (3, 300, 300) in [-1, 1]
//   Conv 3×3 s2 → 32 (150)                                   BN, ReLU6
//   17 inverted residual blocks (expand 1×1, depthwise 3×3, project 1×1; residual when the
//   stride is 1 and the width is unchanged); the expansion of block 13 (576, 19) is map 0
//   Conv_1 1×1 → 1280 (10)                                    map 1
//   4 extra layers: 1×1 → mid, depthwise 3×3 s2, 1×1 → out   maps 2-5: 512 (5), 256 (3), 256 (2), 128 (1)
//   per map i, two heads: depthwise 3×3 + BN + ReLU6, then 1×1 with bias →
//     box encodings (anchors·4, s, s) and class logits (anchors·2, s, s)
// The heads' outputs are concatenated over the maps: box encodings (1917, 4) = (ty, tx, th, tw), class logits
// (1917, 2) = (background, person).
//
// Padding is TensorFlow's SAME: for a stride-2 layer on an even side the one padding row and
// column go after the data (bottom / right); the depthwise kernel and the stem's im2col take
// the padding before the data and treat everything past the edge as zero.
import Kernels
import ModelIO
import Synchronization

/// The architecture: names, widths and strides of every layer.
enum SSDLiteBlueprint {
    static let inputSize = 300
    static let inputChannels = 3
    static let classesWithBackground = 2 // background, person
    static let scope = "FeatureExtractor/MobilenetV2"
    static let stemChannels = 32 // Conv
    /// MobileNetV2's inverted residual blocks (expansion, output width, stride), named
    /// expanded_conv, expanded_conv_1, ... expanded_conv_16.
    static let blocks: [(expansion: Int, out: Int, stride: Int)] =
        [(1, 16, 1), (6, 24, 2), (6, 24, 1), (6, 32, 2), (6, 32, 1), (6, 32, 1), (6, 64, 2), (6, 64, 1), (6, 64, 1),
         (6, 64, 1), (6, 96, 1), (6, 96, 1), (6, 96, 1), (6, 160, 2), (6, 160, 1), (6, 160, 1), (6, 320, 1)]
    /// The block whose expansion output is feature map 0 (the SSD extractor's layer_15).
    static let firstMapBlock = 13
    static let lastConvChannels = 1280 // Conv_1, feature map 1 (layer_19)
    /// The extra feature maps' layers (1×1 width, output width), layer_19_{1,2}_Conv2d_{2...5}_*.
    static let extras: [(mid: Int, out: Int)] = [(256, 512), (128, 256), (128, 256), (64, 128)]
    static let mapChannels = [576, 1280, 512, 256, 256, 128]

    static func blockScope(_ i: Int) -> String { i == 0 ? "\(scope)/expanded_conv" : "\(scope)/expanded_conv_\(i)" }
}

/// Why a graph cannot be used as this detector.
public enum PersonDetectorError: Error, Equatable, CustomStringConvertible {
    case model(ModelLoadError)
    /// The graph's node `node` is not what the architecture expects.
    case topology(path: String, node: String, reason: String)
    case kernel(String)

    public var description: String {
        switch self {
        case let .model(e): return e.description
        case let .topology(path, node, reason):
            return "\(path) is not the SSDLite MobileNetV2 person detector this loader expects: node \"\(node)\" \(reason)"
        case let .kernel(m): return "person detector: \(m)"
        }
    }
}

/// One convolution with its batch norm folded in, and an optional ReLU6, on channels-last
/// activations (side, side, channels).
struct FoldedConv: Sendable {
    enum Kind: Sendable {
        /// 1×1: a matrix product over pixels, (side², in) · (in, out), weights packed once.
        case pointwise
        /// One k×k filter per channel, on Kernels' channels-last depthwise loop.
        case depthwise
        /// k×k over all input channels (only the 3-channel stem): im2col, then a matrix product.
        case full
    }

    let scope: String // the TensorFlow name scope, e.g. FeatureExtractor/MobilenetV2/Conv
    let kind: Kind
    let inChannels, outChannels, kernel, stride: Int
    let inSize, outSize: Int // square sides
    let padBefore: Int // TensorFlow SAME: rows / columns of zeros before the data (the odd one goes after)
    let relu6: Bool
    /// The graph node whose value this layer computes (its Relu6, batch norm or BiasAdd).
    let outputNode: String
    /// Folded weights: depthwise (k, k, channels) as TensorFlow stores them; otherwise
    /// (out, k·k·in) with columns ordered (ky, kx, in).
    let weight: [Float]
    let bias: [Float] // (out)
    let pointwise: PointwiseConv? // `weight` packed with bias and ReLU6 fused, for pointwise and full (over im2col columns)

    var depthwise: Bool { kind == .depthwise }
    var outputCount: Int { outChannels * outSize * outSize }
    /// Floats of im2col columns this layer needs (only `full`).
    var columnsCount: Int { kind == .full ? outSize * outSize * kernel * kernel * inChannels : 0 }

    init(scope: String, kind: Kind, inChannels: Int, outChannels: Int, kernel: Int, stride: Int, inSize: Int, relu6: Bool,
         outputNode: String, weight: [Float], bias: [Float]) throws {
        self.scope = scope; self.kind = kind; self.inChannels = inChannels; self.outChannels = outChannels
        self.kernel = kernel; self.stride = stride; self.inSize = inSize; self.relu6 = relu6; self.outputNode = outputNode
        self.weight = weight; self.bias = bias
        outSize = (inSize + stride - 1) / stride
        padBefore = max((outSize - 1) * stride + kernel - inSize, 0) / 2
        pointwise = kind == .depthwise ? nil
            : try PointwiseConv(weight: weight, outChannels: outChannels, inChannels: kernel * kernel * inChannels, bias: bias,
                                layout: .channelsLast, activation: relu6 ? .relu6 : .none)
    }

    var depthwiseShape: DepthwiseNHWCShape {
        DepthwiseNHWCShape(channels: inChannels, height: inSize, width: inSize, kernel: kernel, stride: stride,
                           padTop: padBefore, padLeft: padBefore, outHeight: outSize, outWidth: outSize)
    }

    /// input (inSize, inSize, in) → output (outSize, outSize, out); `columns` holds
    /// `columnsCount` floats. `residual` (output's shape, pointwise only) is added last.
    func run(_ input: UnsafePointer<Float>, into output: UnsafeMutablePointer<Float>, columns: UnsafeMutablePointer<Float>,
             residual: UnsafePointer<Float>? = nil, pool: ThreadPool) throws {
        switch kind {
        case .depthwise:
            try weight.withUnsafeBufferPointer { w in
                try bias.withUnsafeBufferPointer { b in
                    try depthwiseConv2dNHWC(input, shape: depthwiseShape, weight: w.baseAddress!, bias: b.baseAddress!, relu6: relu6,
                                            output: output, pool: pool)
                }
            }
            return
        case .pointwise:
            try pointwise?.forward(input, pixels: inSize * inSize, into: output, residual: residual, pool: pool)
        case .full:
            try bandedFull(input, into: output, columns: columns, pool: pool)
        }
    }

    /// Output rows per band of the full convolution: 8 rows of 150 × 27 floats of columns
    /// (130 KB) are still in L2 when the product reads them.
    static let fullBandRows = 8

    /// The full convolution a band of output rows at a time: im2col of the band, then the
    /// product over it. Done whole, the 150 × 150 × 27 column matrix (2.4 MB) went out to
    /// memory and was read back. Threads take contiguous runs of bands; each band has its own
    /// region of `columns`, so none overlaps.
    private func bandedFull(_ input: UnsafePointer<Float>, into output: UnsafeMutablePointer<Float>,
                            columns: UnsafeMutablePointer<Float>, pool: ThreadPool) throws {
        guard let pointwise else { return }
        let bands = (outSize + Self.fullBandRows - 1) / Self.fullBandRows
        let rowColumns = outSize * kernel * kernel * inChannels
        let failed = Atomic<Bool>(false)
        pool.parallelFor(bands) { range in
            for band in range {
                let rows = band * Self.fullBandRows..<min(outSize, (band + 1) * Self.fullBandRows)
                let cols = columns + rows.lowerBound * rowColumns
                im2col(input, rows: rows, into: cols)
                // Inside the pool's body the product runs on this thread.
                do {
                    try pointwise.forward(cols, pixels: rows.count * outSize, into: output + rows.lowerBound * outSize * outChannels,
                                          pool: pool)
                } catch {
                    failed.store(true, ordering: .relaxed)
                }
            }
        }
        if failed.load(ordering: .relaxed) {
            throw KernelError.invalidArgument(what: "\(scope) convolution", reason: "its pointwise product failed")
        }
    }

    /// Columns of output rows `rows` ((rows.count · outSize), k·k·in), ordered (ky, kx, in);
    /// zeros where a tap reads padding. Channels-last, a kernel row whose taps all lie inside
    /// the input is one run of k·in floats of the input row, copied as such; only the edge
    /// columns test each tap.
    private func im2col(_ x: UnsafePointer<Float>, rows: Range<Int>, into cols: UnsafeMutablePointer<Float>) {
        let cin = inChannels, run = kernel * cin, row = kernel * run
        for oy in rows {
            for ox in 0..<outSize {
                let ix0 = ox * stride - padBefore
                let inside = ix0 >= 0 && ix0 + kernel <= inSize
                var d = cols + ((oy - rows.lowerBound) * outSize + ox) * row
                for ky in 0..<kernel {
                    let iy = oy * stride - padBefore + ky
                    if iy < 0 || iy >= inSize {
                        for j in 0..<run { d[j] = 0 }
                    } else if inside {
                        let src = x + (iy * inSize + ix0) * cin
                        for j in 0..<run { d[j] = src[j] }
                    } else {
                        for kx in 0..<kernel {
                            let ix = ix0 + kx, tap = d + kx * cin
                            if ix < 0 || ix >= inSize {
                                for c in 0..<cin { tap[c] = 0 }
                            } else {
                                let src = x + (iy * inSize + ix) * cin
                                for c in 0..<cin { tap[c] = src[c] }
                            }
                        }
                    }
                    d += run
                }
            }
        }
    }
}

/// MobileNetV2 inverted residual block.
struct InvertedResidual {
    let expand: FoldedConv? // absent in the first block (expansion 1)
    let depthwise: FoldedConv
    let project: FoldedConv
    let residual: Bool
    /// The three layers as one Kernels.InvertedResidual (nil for the block whose expansion is
    /// feature map 0: that tensor is needed whole).
    let fused: Kernels.InvertedResidual?
}

/// One feature map's two heads.
struct BoxPredictor {
    let boxDepthwise, box: FoldedConv // → (anchors·4, s, s)
    let classDepthwise, classes: FoldedConv // → (anchors·2, s, s)
    let anchorsPerCell: Int
    let firstAnchor: Int // index of this map's first anchor in the concatenation
}

/// The loaded network: weights and the plan; run it with `SSDLiteRunner`.
struct SSDLiteMobileNetV2: Sendable {
    let stem: FoldedConv
    let blocks: [InvertedResidual]
    let lastConv: FoldedConv
    let extras: [(reduce: FoldedConv, depthwise: FoldedConv, expand: FoldedConv)]
    let predictors: [BoxPredictor]
    let anchorCount: Int

    /// Loads and checks every layer of `graph`; `anchorsPerCell` per feature map.
    init(graph: TensorFlowGraph, anchorsPerCell: [Int]) throws(PersonDetectorError) {
        let loader = GraphLoader(graph: graph)
        let b = SSDLiteBlueprint.self
        var side = b.inputSize
        var producer = "Preprocessor/sub" // the normalised image, (2/255)·x − 1
        stem = try loader.conv(scope: "\(b.scope)/Conv", depthwise: false, in: b.inputChannels, out: b.stemChannels,
                               kernel: 3, stride: 2, side: side, input: producer)
        side = stem.outSize
        producer = loader.output(of: stem)
        var channels = b.stemChannels
        var mapProducers: [String] = []
        var blocks: [InvertedResidual] = []
        for (i, spec) in b.blocks.enumerated() {
            let scope = b.blockScope(i)
            let hidden = channels * spec.expansion
            let blockInput = producer
            var expand: FoldedConv?
            var dwInput = producer
            if spec.expansion != 1 {
                let e = try loader.conv(scope: "\(scope)/expand", depthwise: false, in: channels, out: hidden, kernel: 1, stride: 1,
                                        side: side, input: producer)
                expand = e
                dwInput = loader.output(of: e)
                if i == b.firstMapBlock { mapProducers.append(dwInput) }
            }
            let dw = try loader.conv(scope: "\(scope)/depthwise", depthwise: true, in: hidden, out: hidden, kernel: 3,
                                     stride: spec.stride, side: side, input: dwInput)
            let project = try loader.conv(scope: "\(scope)/project", depthwise: false, in: hidden, out: spec.out, kernel: 1,
                                          stride: 1, side: dw.outSize, input: loader.output(of: dw), relu6: false)
            let residual = spec.stride == 1 && spec.out == channels
            producer = loader.output(of: project)
            if residual {
                producer = try loader.checkAdd("\(scope)/add", inputs: [producer, blockInput])
            }
            // One fused block (row bands that keep the expansion in L2), except the block whose
            // expansion output is a feature map in full.
            var fused: Kernels.InvertedResidual?
            if i != b.firstMapBlock, dw.relu6, let p = project.pointwise {
                do {
                    fused = try Kernels.InvertedResidual(expand: expand?.pointwise, depthwiseWeight: dw.weight, depthwiseBias: dw.bias,
                                                         kernel: dw.kernel, stride: dw.stride, project: p, residual: residual)
                } catch {
                    throw .kernel("\(scope): \(error)")
                }
            }
            blocks.append(InvertedResidual(expand: expand, depthwise: dw, project: project, residual: residual, fused: fused))
            channels = spec.out
            side = dw.outSize
        }
        self.blocks = blocks
        lastConv = try loader.conv(scope: "\(b.scope)/Conv_1", depthwise: false, in: channels, out: b.lastConvChannels,
                                   kernel: 1, stride: 1, side: side, input: producer)
        producer = loader.output(of: lastConv)
        mapProducers.append(producer)
        channels = b.lastConvChannels
        var extras: [(reduce: FoldedConv, depthwise: FoldedConv, expand: FoldedConv)] = []
        for (i, spec) in b.extras.enumerated() {
            let n = i + 2
            let reduce = try loader.conv(scope: "\(b.scope)/layer_19_1_Conv2d_\(n)_1x1_\(spec.mid)", depthwise: false,
                                         in: channels, out: spec.mid, kernel: 1, stride: 1, side: side, input: producer)
            let dw = try loader.conv(scope: "\(b.scope)/layer_19_2_Conv2d_\(n)_3x3_s2_\(spec.out)_depthwise", depthwise: true,
                                     in: spec.mid, out: spec.mid, kernel: 3, stride: 2, side: side, input: loader.output(of: reduce))
            let expand = try loader.conv(scope: "\(b.scope)/layer_19_2_Conv2d_\(n)_3x3_s2_\(spec.out)", depthwise: false,
                                         in: spec.mid, out: spec.out, kernel: 1, stride: 1, side: dw.outSize,
                                         input: loader.output(of: dw))
            extras.append((reduce, dw, expand))
            producer = loader.output(of: expand)
            mapProducers.append(producer)
            channels = spec.out
            side = dw.outSize
        }
        self.extras = extras
        guard anchorsPerCell.count == mapProducers.count else {
            throw .topology(path: graph.path, node: "BoxPredictor_*", reason: "anchor layout has \(anchorsPerCell.count) maps, the network \(mapProducers.count)")
        }
        var predictors: [BoxPredictor] = []
        var first = 0
        let mapSides = [blocks[b.firstMapBlock].expand?.outSize ?? 0, lastConv.outSize] + extras.map(\.depthwise.outSize)
        for (i, (mapInput, anchors)) in zip(mapProducers, anchorsPerCell).enumerated() {
            let s = "BoxPredictor_\(i)", c = b.mapChannels[i], side = mapSides[i]
            let boxDw = try loader.conv(scope: "\(s)/BoxEncodingPredictor_depthwise", depthwise: true, in: c, out: c, kernel: 3,
                                        stride: 1, side: side, input: mapInput)
            let box = try loader.conv(scope: "\(s)/BoxEncodingPredictor", depthwise: false, in: c, out: anchors * 4, kernel: 1,
                                      stride: 1, side: side, input: loader.output(of: boxDw), relu6: false, batchNorm: false)
            let clsDw = try loader.conv(scope: "\(s)/ClassPredictor_depthwise", depthwise: true, in: c, out: c, kernel: 3,
                                        stride: 1, side: side, input: mapInput)
            let cls = try loader.conv(scope: "\(s)/ClassPredictor", depthwise: false, in: c, out: anchors * b.classesWithBackground,
                                      kernel: 1, stride: 1, side: side, input: loader.output(of: clsDw), relu6: false, batchNorm: false)
            predictors.append(BoxPredictor(boxDepthwise: boxDw, box: box, classDepthwise: clsDw, classes: cls,
                                           anchorsPerCell: anchors, firstAnchor: first))
            first += side * side * anchors
        }
        self.predictors = predictors
        anchorCount = first
    }

    /// Every layer in execution order (for planning scratch).
    var allLayers: [FoldedConv] {
        [stem] + blocks.flatMap { [$0.expand, $0.depthwise, $0.project].compactMap { $0 } } + [lastConv]
            + extras.flatMap { [$0.reduce, $0.depthwise, $0.expand] }
            + predictors.flatMap { [$0.boxDepthwise, $0.box, $0.classDepthwise, $0.classes] }
    }
}

// MARK: - Loading with topology checks

/// Reads one layer at a time from the graph, checking its nodes and wiring.
struct GraphLoader {
    let graph: TensorFlowGraph

    func output(of layer: FoldedConv) -> String { layer.outputNode }

    private func convName(_ scope: String, depthwise: Bool) -> String { depthwise ? "\(scope)/depthwise" : "\(scope)/Conv2D" }

    /// Strips ":0" and follows Identity nodes to the node that computes the value.
    func resolve(_ input: String) -> String {
        var name = input.hasSuffix(":0") ? String(input.dropLast(2)) : input
        var hops = 0
        while let n = graph.node(named: name), n.op == "Identity", let next = n.inputs.first, hops < 16 {
            name = next.hasSuffix(":0") ? String(next.dropLast(2)) : next
            hops += 1
        }
        return name
    }

    private func fail(_ node: String, _ reason: String) -> PersonDetectorError {
        .topology(path: graph.path, node: node, reason: reason)
    }

    private func node(_ name: String, op: Set<String>) throws(PersonDetectorError) -> TensorFlowNode {
        guard let n = graph.node(named: name) else { throw fail(name, "is missing") }
        guard op.contains(n.op) else { throw fail(name, "is a \(n.op), expected \(op.sorted().joined(separator: " or "))") }
        return n
    }

    private func floats(_ name: String, shape: [Int]) throws(PersonDetectorError) -> [Float] {
        do { return try graph.floats(name, shape: shape) } catch { throw .model(error) }
    }

    private func checkInput(_ n: TensorFlowNode, _ index: Int, is expected: String) throws(PersonDetectorError) {
        guard n.inputs.count > index else { throw fail(n.name, "has \(n.inputs.count) inputs, expected at least \(index + 1)") }
        let got = resolve(n.inputs[index])
        guard got == expected else { throw fail(n.name, "reads input \(index) from \"\(got)\", expected \"\(expected)\"") }
    }

    /// Loads `scope`'s convolution (+ batch norm or bias, + ReLU6), checking that it reads `input`.
    func conv(scope: String, depthwise: Bool, in inChannels: Int, out outChannels: Int, kernel: Int, stride: Int,
                       side: Int, input: String, relu6: Bool = true, batchNorm: Bool = true) throws(PersonDetectorError) -> FoldedConv {
        let convNode = try node(convName(scope, depthwise: depthwise), op: depthwise ? ["DepthwiseConv2dNative"] : ["Conv2D"])
        guard convNode.attributes["strides"]?.list?.ints == [1, stride, stride, 1] else {
            throw fail(convNode.name, "has strides \(convNode.attributes["strides"]?.list?.ints ?? []), expected [1, \(stride), \(stride), 1]")
        }
        guard convNode.attributes["padding"]?.string == "SAME" else { throw fail(convNode.name, "does not use SAME padding") }
        if let format = convNode.attributes["data_format"]?.string, format != "NHWC" { throw fail(convNode.name, "is \(format), expected NHWC") }
        if let d = convNode.attributes["dilations"]?.list?.ints, !d.allSatisfy({ $0 == 1 }) { throw fail(convNode.name, "is dilated \(d)") }
        try checkInput(convNode, 0, is: input)
        let weightName = depthwise ? "\(scope)/depthwise_weights" : "\(scope)/weights"
        try checkInput(convNode, 1, is: weightName)

        // TensorFlow (k, k, in, out) → ours (out, k·k·in); depthwise (k, k, channels, 1) is kept.
        let tf = try floats(weightName, shape: depthwise ? [kernel, kernel, inChannels, 1] : [kernel, kernel, inChannels, outChannels])
        let columns = kernel * kernel * inChannels
        var weight = tf
        if !depthwise {
            for o in 0..<outChannels { for j in 0..<columns { weight[o * columns + j] = tf[j * outChannels + o] } }
        }

        var bias: [Float]
        var last = convNode.name
        if batchNorm {
            let bn = try node("\(scope)/BatchNorm/FusedBatchNorm", op: ["FusedBatchNorm", "FusedBatchNormV2", "FusedBatchNormV3"])
            if bn.attributes["is_training"]?.bool == true { throw fail(bn.name, "is in training mode") }
            try checkInput(bn, 0, is: convNode.name)
            let names = ["gamma", "beta", "moving_mean", "moving_variance"].map { "\(scope)/BatchNorm/\($0)" }
            for (k, n) in names.enumerated() { try checkInput(bn, k + 1, is: n) }
            let p = try names.map { (n: String) throws(PersonDetectorError) -> [Float] in try floats(n, shape: [outChannels]) }
            let eps = bn.attributes["epsilon"]?.float ?? 0.001
            if depthwise {
                // Output channel c scales every tap of filter c: (k, k, C) strides over c last.
                bias = (0..<outChannels).map { c in
                    let scale = p[0][c] / (p[3][c] + eps).squareRoot()
                    for t in 0..<(kernel * kernel) { weight[t * outChannels + c] *= scale }
                    return p[1][c] - p[2][c] * scale
                }
            } else {
                do {
                    bias = try foldBatchNorm(weight: &weight, bias: nil, outChannels: outChannels, gamma: p[0], beta: p[1],
                                             runningMean: p[2], runningVar: p[3], eps: eps)
                } catch { throw .kernel("folding \(bn.name): \(error)") }
            }
            last = bn.name
        } else {
            let add = try node("\(scope)/BiasAdd", op: ["BiasAdd"])
            try checkInput(add, 0, is: convNode.name)
            try checkInput(add, 1, is: "\(scope)/biases")
            bias = try floats("\(scope)/biases", shape: [outChannels])
            last = add.name
        }
        if relu6 {
            let act = try node("\(scope)/Relu6", op: ["Relu6"])
            try checkInput(act, 0, is: last)
        }
        let kind: FoldedConv.Kind = depthwise ? .depthwise : (kernel == 1 && stride == 1 ? .pointwise : .full)
        do {
            return try FoldedConv(scope: scope, kind: kind, inChannels: inChannels, outChannels: outChannels, kernel: kernel,
                                  stride: stride, inSize: side, relu6: relu6, outputNode: relu6 ? "\(scope)/Relu6" : last,
                                  weight: weight, bias: bias)
        } catch { throw .kernel("packing \(scope): \(error)") }
    }

    /// Checks the residual sum `name` adds exactly `inputs`; returns its name.
    func checkAdd(_ name: String, inputs: [String]) throws(PersonDetectorError) -> String {
        let add = try node(name, op: ["Add", "AddV2"])
        let got = Set(add.inputs.map(resolve))
        guard got == Set(inputs) else { throw fail(name, "adds \(got.sorted()), expected \(inputs.sorted())") }
        return name
    }
}
