// A small interpreter for the ONNX graphs of PP-OCRv5 (det DBNet, PP-LCNet orientation
// classifier, SVTR-LCNet recogniser): walks the nodes in file order (ONNX requires a
// topological order) and runs each on our kernels. The op set is exactly what those three
// graphs use; anything else is refused when the network is loaded, naming the node and op.
// Weights are read once: Conv weights with a following BatchNormalization folded in (the
// det and cls exports keep some BN unfolded), Constant/initializer tensors kept as values.
// Tensors are NCHW float32 with batch 1. Integer tensors (shapes, axes, Slice bounds) ride in
// the same Float storage (values below 2^24 are exact; larger bounds such as INT64_MAX only
// ever mean "to the end" and are clamped).
import Kernels
import ModelIO

/// A tensor value flowing through the graph.
struct Value {
    var shape: [Int]
    var data: [Float]
    /// Carries integers (shape arithmetic) rather than activations.
    var isInteger = false

    var count: Int { data.count }
    init(shape: [Int], data: [Float], isInteger: Bool = false) {
        self.shape = shape
        self.data = data
        self.isInteger = isInteger
    }
    init(zeros shape: [Int]) { self.init(shape: shape, data: [Float](repeating: 0, count: shape.reduce(1, *))) }
    /// Storage the caller overwrites completely (conv and GEMM outputs), not zeroed first.
    init(uninitialized shape: [Int]) {
        let n = shape.reduce(1, *)
        self.init(shape: shape, data: [Float](unsafeUninitializedCapacity: n) { _, count in count = n })
    }
}

struct ONNXNetwork: Sendable {
    /// One prepared node: the op and everything read from the file for it.
    enum Op: Sendable {
        /// `pointwise`: the same weights (with any fused activation) packed for Kernels' pointwise
        /// kernel, for every ungrouped conv.
        /// `after`: what the conv's output goes through before anything reads it (an activation
        /// the pointwise kernel did not fuse, then y · scale + shift), applied in place.
        /// `winograd`: the same conv by F(2×2, 3×3), for 3×3 stride-1 pad-1 ungrouped ones.
        case conv(Conv2dShapeTemplate, weight: [Float], bias: [Float]?, pointwise: PointwiseConv?, winograd: Winograd3x3Conv?,
                  after: ConvEpilogue)
        /// Weight (inC, outC, kH, kW); the following bias, batch norm and activation folded in.
        case convTranspose(ConvTransposeSpec, weight: [Float], bias: [Float]?, activation: UnaryOp?)
        case batchNorm(scale: [Float], shift: [Float])
        case binary(BinaryOp)
        case unary(UnaryOp)
        case hardSigmoid(alpha: Float, beta: Float)
        case globalAveragePool
        case averagePool(kernel: (Int, Int), stride: (Int, Int))
        case resizeNearest
        case concat(axis: Int)
        case identity
        case reshape
        case transpose([Int])
        case squeeze([Int])
        case unsqueeze([Int])
        case shape
        case slice
        case constant(Value)
        case matMul
        /// MatMul whose B is a constant (k, n): packed once at load as a PackedLinear over Bᵀ.
        case matMulPacked(PackedLinear)
        case softmax(axis: Int, coerce2D: Bool)
        case reduceMean(axes: [Int], keepDims: Bool)
    }

    enum BinaryOp: Sendable { case add, sub, mul, div, pow }
    enum UnaryOp: Sendable { case relu, sigmoid, hardSwish, sqrt }

    /// A grouped conv's activation (ungrouped ones fuse it into the pointwise kernel's store)
    /// and the learnable affine block after the activation, y · scale + shift.
    struct ConvEpilogue: Sendable {
        var activation: PointwiseConv.Activation = .none
        var scale: Float = 1
        var shift: Float = 0
        var hasAffine: Bool { scale != 1 || shift != 0 }
    }

    /// Conv attributes; the spatial size comes from the input at run time.
    struct Conv2dShapeTemplate: Sendable {
        var inChannels, outChannels, kernelH, kernelW, strideH, strideW, padH, padW, dilationH, dilationW, groups: Int
    }

    struct ConvTransposeSpec: Sendable {
        var inChannels, outChannels, kernelH, kernelW, strideH, strideW: Int
        /// Stride equal to the kernel: the kernel's windows tile the output without overlap.
        var disjoint: Bool { strideH == kernelH && strideW == kernelW }
    }

    struct Node: Sendable {
        let name: String
        let op: Op
        let inputs: [String]
        let outputs: [String]
    }

    let path: String
    let nodes: [Node]
    let inputName: String
    let outputName: String
    /// Initializers and Constant outputs not consumed by a prepared op (shape tensors, MatMul weights...).
    let constants: [String: Value]
    /// For each node, the values whose last use it is (freed after it runs).
    let lastUse: [[String]]

    init(model: ONNXModel) throws(ModelLoadError) {
        path = model.path
        let graph = model.graph
        guard let input = graph.inputs.first(where: { graph.initializers[$0.name] == nil }), let output = graph.outputs.first else {
            throw .malformed(path: model.path, format: "ONNX model", reason: "graph has no input or output")
        }
        inputName = input.name
        outputName = output.name

        // Who consumes each value, to fold Conv -> BatchNormalization only when the conv
        // output has no other reader.
        var consumers: [String: Int] = [:]
        for n in graph.nodes { for i in n.inputs where !i.isEmpty { consumers[i, default: 0] += 1 } }
        for o in graph.outputs { consumers[o.name, default: 0] += 1 }

        var constants: [String: Value] = [:]
        func constant(_ name: String, node: String) throws(ModelLoadError) -> Value {
            if let v = constants[name] { return v }
            guard let t = graph.initializers[name] else { throw .missingTensor(path: model.path, name: "\(name) (input of \(node))") }
            let v = Value(shape: t.shape, data: try t.floats(), isInteger: !t.elementType.isFloatingPoint)
            constants[name] = v
            return v
        }
        func isConstant(_ name: String) -> Bool { constants[name] != nil || graph.initializers[name] != nil }

        var nodes: [Node] = []
        var skip = Set<Int>()
        for (index, n) in graph.nodes.enumerated() where !skip.contains(index) {
            func attr(_ key: String) -> ONNXAttribute? { n.attributes[key] }
            func ints(_ key: String, _ fallback: [Int]) -> [Int] { attr(key)?.ints ?? fallback }
            func refuse(_ why: String) -> ModelLoadError {
                .unsupportedOperator(path: model.path, node: n.name, op: n.opType, reason: why)
            }
            guard n.domain.isEmpty || n.domain == "ai.onnx" else { throw refuse("domain \(n.domain)") }
            let op: Op
            var outputs = n.outputs
            guard !outputs.isEmpty else { throw refuse("node has no output") }
            switch n.opType {
            case "Conv":
                guard n.inputs.count >= 2 else { throw refuse("needs input and weight") }
                let wt = try constant(n.inputs[1], node: n.name)
                guard wt.shape.count == 4 else { throw refuse("only 2-D convolutions are supported (weight \(wt.shape))") }
                let k = ints("kernel_shape", [wt.shape[2], wt.shape[3]]), s = ints("strides", [1, 1])
                let p = ints("pads", [0, 0, 0, 0]), d = ints("dilations", [1, 1]), g = attr("group")?.int ?? 1
                guard k == [wt.shape[2], wt.shape[3]], s.count == 2, d.count == 2, p.count == 4, p[0] == p[2], p[1] == p[3],
                      (attr("auto_pad")?.string ?? "NOTSET") == "NOTSET", g >= 1, wt.shape[0] % g == 0 else {
                    throw refuse("kernel \(k), strides \(s), pads \(p), group \(g) (only symmetric explicit padding)")
                }
                let spec = Conv2dShapeTemplate(inChannels: wt.shape[1] * g, outChannels: wt.shape[0], kernelH: k[0], kernelW: k[1],
                                               strideH: s[0], strideW: s[1], padH: p[0], padW: p[1],
                                               dilationH: d[0], dilationW: d[1], groups: g)
                var weight = wt.data
                var bias: [Float]?
                if n.inputs.count > 2, !n.inputs[2].isEmpty { bias = try constant(n.inputs[2], node: n.name).data }
                // Fold the BatchNormalization that alone reads this conv's output.
                if let next = graph.nodes.indices.first(where: { $0 > index && graph.nodes[$0].inputs.first == n.outputs[0] }),
                   graph.nodes[next].opType == "BatchNormalization", consumers[n.outputs[0]] == 1 {
                    let bn = graph.nodes[next]
                    let eps = bn.attributes["epsilon"]?.float ?? 1e-5
                    guard bn.inputs.count == 5 else { throw refuse("BatchNormalization \(bn.name) needs 5 inputs") }
                    let gamma = try constant(bn.inputs[1], node: bn.name).data, beta = try constant(bn.inputs[2], node: bn.name).data
                    let mean = try constant(bn.inputs[3], node: bn.name).data, variance = try constant(bn.inputs[4], node: bn.name).data
                    do {
                        bias = try foldBatchNorm(weight: &weight, bias: bias, outChannels: spec.outChannels, gamma: gamma, beta: beta,
                                                 runningMean: mean, runningVar: variance, eps: eps)
                    } catch {
                        throw .unexpectedShape(path: model.path, name: bn.name, expected: "\(spec.outChannels) channels", found: [gamma.count])
                    }
                    skip.insert(next)
                    outputs = [bn.outputs[0]] // the folded conv writes the BN's output
                }
                guard weight.count == spec.outChannels * (spec.inChannels / g) * k[0] * k[1], bias.map({ $0.count == spec.outChannels }) ?? true else {
                    throw .unexpectedShape(path: model.path, name: n.inputs[1], expected: "conv weight", found: wt.shape)
                }
                // PP-OCRv5's learnable affine blocks follow most convs with Identity, Add(per-channel
                // or scalar constant), Mul(scalar constant), Add(scalar constant): fold each into the
                // weights and bias (y·s + t = conv with w·s, b·s + t), as long as the conv's value has
                // no other reader. A following Relu or HardSwish is fused into an ungrouped conv's store
                // (a grouped conv applies it in place), and the affine block after it, Mul(scalar
                // constant) then Add(scalar constant), is one in-place y · s + t on the output.
                let packable = g == 1
                var activation = PointwiseConv.Activation.none
                var after = ConvEpilogue()
                var value = outputs[0]
                chain: while let next = graph.nodes.indices.first(where: { $0 > index && !skip.contains($0) && graph.nodes[$0].inputs.contains(value) }) {
                    let m = graph.nodes[next]
                    // One reader, or two when they are HardSigmoid(x) and x · HardSigmoid(x).
                    guard consumers[value] == 1 || (consumers[value] == 2 && m.opType == "HardSigmoid") else { break chain }
                    func perChannel(_ name: String) throws(ModelLoadError) -> [Float]? {
                        guard isConstant(name) else { return nil }
                        let c = try constant(name, node: m.name)
                        let channels = spec.outChannels
                        if c.count == 1 { return [Float](repeating: c.data[0], count: channels) }
                        let wide = c.shape.filter { $0 != 1 }
                        let axisOK = c.shape.count == 4 ? c.shape[1] == channels : c.shape.count == 3 ? c.shape[0] == channels : c.shape.count == 1
                        return c.count == channels && wide == [channels] && axisOK ? c.data : nil
                    }
                    switch m.opType {
                    case "Identity" where m.inputs.count == 1:
                        break
                    case "Mul" where m.inputs.count == 2 && activation != .none && !after.hasAffine,
                         "Add" where m.inputs.count == 2 && activation != .none && after.shift == 0:
                        // After the activation only a scalar: y · s, then + t (computed as the graph does).
                        let other = m.inputs[0] == value ? m.inputs[1] : m.inputs[0]
                        guard other != value, isConstant(other) else { break chain }
                        let c = try constant(other, node: m.name)
                        guard c.count == 1 else { break chain }
                        if m.opType == "Mul" { after.scale = c.data[0] } else { after.shift = c.data[0] }
                    case "Add" where m.inputs.count == 2, "Mul" where m.inputs.count == 2:
                        let other = m.inputs[0] == value ? m.inputs[1] : m.inputs[0]
                        guard other != value, activation == .none, let c = try perChannel(other) else { break chain }
                        var b = bias ?? [Float](repeating: 0, count: spec.outChannels)
                        if m.opType == "Add" {
                            for o in 0..<spec.outChannels { b[o] += c[o] }
                        } else {
                            let per = weight.count / spec.outChannels
                            for o in 0..<spec.outChannels {
                                for i in 0..<per { weight[o * per + i] *= c[o] }
                                b[o] *= c[o]
                            }
                        }
                        bias = b
                    case "Relu" where activation == .none:
                        activation = .relu
                    case "HardSwish" where activation == .none:
                        activation = .hardSwish
                    case "HardSigmoid" where activation == .none:
                        // x · HardSigmoid(x) with PyTorch's constants (1/6, 0.5) is HardSwish(x).
                        let alpha = m.attributes["alpha"]?.float ?? 0.2, beta = m.attributes["beta"]?.float ?? 0.5
                        guard abs(alpha - 1.0 / 6) < 1e-6, beta == 0.5, consumers[m.outputs[0]] == 1,
                              let mul = graph.nodes.indices.first(where: { $0 > next && graph.nodes[$0].inputs.contains(m.outputs[0]) }),
                              graph.nodes[mul].opType == "Mul", Set(graph.nodes[mul].inputs) == [value, m.outputs[0]],
                              consumers[value] == 2 else { break chain }
                        skip.insert(next)
                        skip.insert(mul)
                        activation = .hardSwish
                        value = graph.nodes[mul].outputs[0]
                        continue chain
                    default:
                        break chain
                    }
                    skip.insert(next)
                    value = m.outputs[0]
                }
                outputs = [value]
                // An ungrouped conv is a product over pixels (of im2col columns unless it is 1×1,
                // stride 1, unpadded): its weights are packed once here for the pointwise kernel.
                var pointwise: PointwiseConv?
                if packable {
                    do {
                        pointwise = try PointwiseConv(weight: weight, outChannels: spec.outChannels,
                                                      inChannels: spec.inChannels * k[0] * k[1], bias: bias,
                                                      layout: .channelsFirst, activation: activation)
                    } catch {
                        throw .unexpectedShape(path: model.path, name: n.inputs[1], expected: "conv weight", found: wt.shape)
                    }
                }
                // A 3×3 stride-1 conv with "same" padding also gets Winograd's form (4 products per
                // output pixel and input channel instead of 9), used on large enough planes.
                var winograd: Winograd3x3Conv?
                if packable, k == [3, 3], s == [1, 1], d == [1, 1], p == [1, 1, 1, 1] {
                    do {
                        winograd = try Winograd3x3Conv(weight: weight, bias: bias, inChannels: spec.inChannels, outChannels: spec.outChannels,
                                                       activation: activation)
                    } catch {
                        throw .unexpectedShape(path: model.path, name: n.inputs[1], expected: "3x3 conv weight", found: wt.shape)
                    }
                }
                if !packable { after.activation = activation }
                op = .conv(spec, weight: weight, bias: bias, pointwise: pointwise, winograd: winograd, after: after)
            case "ConvTranspose":
                let wt = try constant(n.inputs[1], node: n.name)
                let s = ints("strides", [1, 1]), p = ints("pads", [0, 0, 0, 0])
                guard wt.shape.count == 4, (attr("group")?.int ?? 1) == 1, p.allSatisfy({ $0 == 0 }), ints("dilations", [1, 1]) == [1, 1],
                      attr("output_padding") == nil, attr("output_shape") == nil, s.count == 2 else {
                    throw refuse("only group 1, no padding, no output_padding/output_shape")
                }
                let spec = ConvTransposeSpec(inChannels: wt.shape[0], outChannels: wt.shape[1], kernelH: wt.shape[2], kernelW: wt.shape[3],
                                             strideH: s[0], strideW: s[1])
                var weight = wt.data
                var bias: [Float]?
                if n.inputs.count > 2, !n.inputs[2].isEmpty { bias = try constant(n.inputs[2], node: n.name).data }
                guard weight.count == spec.inChannels * spec.outChannels * spec.kernelH * spec.kernelW,
                      bias.map({ $0.count == spec.outChannels }) ?? true else {
                    throw .unexpectedShape(path: model.path, name: n.inputs[1], expected: "conv transpose weight", found: wt.shape)
                }
                // DB's head follows each ConvTranspose with Identity, Add(per-channel constant),
                // BatchNormalization and Relu (or Sigmoid): the bias and the normalisation fold into
                // the weights and bias, the activation runs on the output as it is written — each
                // only while the value has no other reader.
                let perOut = spec.kernelH * spec.kernelW
                var activation: UnaryOp?
                var value = outputs[0]
                transposeChain: while activation == nil, consumers[value] == 1,
                      let next = graph.nodes.indices.first(where: { $0 > index && !skip.contains($0) && graph.nodes[$0].inputs.contains(value) }) {
                    let m = graph.nodes[next]
                    switch m.opType {
                    case "Identity" where m.inputs.count == 1:
                        break
                    case "Add" where m.inputs.count == 2:
                        let other = m.inputs[0] == value ? m.inputs[1] : m.inputs[0]
                        guard other != value, isConstant(other) else { break transposeChain }
                        let c = try constant(other, node: m.name)
                        // A scalar, or one value per channel laid out on the channel axis ([1, C, 1, 1]
                        // or [C, 1, 1]; a plain [C] would broadcast along the width).
                        let channels = spec.outChannels
                        guard c.count == 1 || (c.count == channels && ((c.shape.count == 4 && c.shape[1] == channels)
                            || (c.shape.count == 3 && c.shape[0] == channels))) else { break transposeChain }
                        var b = bias ?? [Float](repeating: 0, count: spec.outChannels)
                        for o in 0..<spec.outChannels { b[o] += c.count == 1 ? c.data[0] : c.data[o] }
                        bias = b
                    case "BatchNormalization" where m.inputs.count == 5 && m.inputs[0] == value:
                        let eps = m.attributes["epsilon"]?.float ?? 1e-5
                        let gamma = try constant(m.inputs[1], node: m.name).data, beta = try constant(m.inputs[2], node: m.name).data
                        let mean = try constant(m.inputs[3], node: m.name).data, variance = try constant(m.inputs[4], node: m.name).data
                        guard [gamma.count, beta.count, mean.count, variance.count].allSatisfy({ $0 == spec.outChannels }) else { break transposeChain }
                        var b = bias ?? [Float](repeating: 0, count: spec.outChannels)
                        for o in 0..<spec.outChannels {
                            let scale = gamma[o] / (variance[o] + eps).squareRoot()
                            for i in 0..<spec.inChannels {
                                for k in 0..<perOut { weight[(i * spec.outChannels + o) * perOut + k] *= scale }
                            }
                            b[o] = b[o] * scale + beta[o] - mean[o] * scale
                        }
                        bias = b
                    case "Relu":
                        activation = .relu
                    case "Sigmoid":
                        activation = .sigmoid
                    default:
                        break transposeChain
                    }
                    skip.insert(next)
                    value = m.outputs[0]
                }
                outputs = [value]
                op = .convTranspose(spec, weight: weight, bias: bias, activation: activation)
            case "BatchNormalization":
                let eps = attr("epsilon")?.float ?? 1e-5
                guard n.inputs.count == 5 else { throw refuse("needs 5 inputs") }
                let gamma = try constant(n.inputs[1], node: n.name).data, beta = try constant(n.inputs[2], node: n.name).data
                let mean = try constant(n.inputs[3], node: n.name).data, variance = try constant(n.inputs[4], node: n.name).data
                guard gamma.count == beta.count, gamma.count == mean.count, gamma.count == variance.count else { throw refuse("parameter sizes differ") }
                let scale = (0..<gamma.count).map { gamma[$0] / (variance[$0] + eps).squareRoot() }
                op = .batchNorm(scale: scale, shift: (0..<gamma.count).map { beta[$0] - mean[$0] * scale[$0] })
            case "Add": op = .binary(.add)
            case "Sub": op = .binary(.sub)
            case "Mul": op = .binary(.mul)
            case "Div": op = .binary(.div)
            case "Pow": op = .binary(.pow)
            case "Relu": op = .unary(.relu)
            case "Sigmoid": op = .unary(.sigmoid)
            case "HardSwish": op = .unary(.hardSwish)
            case "Sqrt": op = .unary(.sqrt)
            case "HardSigmoid":
                let alpha = attr("alpha")?.float ?? 0.2, beta = attr("beta")?.float ?? 0.5
                // x · HardSigmoid(x) with PyTorch's constants is HardSwish(x): run it as one op.
                if abs(alpha - 1.0 / 6) < 1e-6, beta == 0.5, consumers[n.outputs[0]] == 1,
                   let next = graph.nodes.indices.first(where: { $0 > index && graph.nodes[$0].inputs.contains(n.outputs[0]) }),
                   graph.nodes[next].opType == "Mul", Set(graph.nodes[next].inputs) == [n.inputs[0], n.outputs[0]] {
                    skip.insert(next)
                    outputs = graph.nodes[next].outputs
                    op = .unary(.hardSwish)
                } else {
                    op = .hardSigmoid(alpha: alpha, beta: beta)
                }
            case "GlobalAveragePool": op = .globalAveragePool
            case "AveragePool":
                let k = ints("kernel_shape", []), s = ints("strides", [1, 1])
                guard k.count == 2, s.count == 2, ints("pads", [0, 0, 0, 0]).allSatisfy({ $0 == 0 }), (attr("ceil_mode")?.int ?? 0) == 0 else {
                    throw refuse("only 2-D pooling without padding or ceil_mode")
                }
                op = .averagePool(kernel: (k[0], k[1]), stride: (s[0], s[1]))
            case "Resize":
                guard attr("mode")?.string == "nearest", (attr("coordinate_transformation_mode")?.string ?? "half_pixel") == "asymmetric",
                      (attr("nearest_mode")?.string ?? "round_prefer_floor") == "floor" else {
                    throw refuse("only nearest / asymmetric / floor resizing")
                }
                op = .resizeNearest
            case "Concat": op = .concat(axis: attr("axis")?.int ?? 0)
            case "Identity": op = .identity
            case "Reshape":
                guard (attr("allowzero")?.int ?? 0) == 0 else { throw refuse("allowzero") }
                op = .reshape
            case "Transpose": op = .transpose(ints("perm", []))
            case "Squeeze": op = .squeeze(ints("axes", []))
            case "Unsqueeze":
                guard let axes = attr("axes")?.ints else { throw refuse("axes as an input (opset 13) is not supported") }
                op = .unsqueeze(axes)
            case "Shape": op = .shape
            case "Slice": op = .slice
            case "Constant":
                guard let t = attr("value")?.tensor else { throw refuse("only the tensor form of Constant") }
                let v = Value(shape: t.shape, data: try t.floats(), isInteger: !t.elementType.isFloatingPoint)
                constants[n.outputs[0]] = v
                op = .constant(v)
            case "MatMul":
                var matMul = Op.matMul
                if n.inputs.count == 2, isConstant(n.inputs[1]) {
                    let b = try constant(n.inputs[1], node: n.name)
                    if b.shape.count == 2, !b.isInteger, b.shape[0] > 0, b.shape[1] > 0 {
                        let (k, cols) = (b.shape[0], b.shape[1])
                        var t = [Float](repeating: 0, count: k * cols) // Bᵀ (n, k), PackedLinear's (out, in)
                        for i in 0..<k { for j in 0..<cols { t[j * k + i] = b.data[i * cols + j] } }
                        do {
                            matMul = .matMulPacked(try PackedLinear(weight: t, outFeatures: cols, inFeatures: k))
                        } catch {
                            throw .unexpectedShape(path: model.path, name: n.inputs[1], expected: "MatMul weight (k, n)", found: b.shape)
                        }
                    }
                }
                op = matMul
            case "Softmax":
                // Opset < 13 flattens [axis, rank) into one softmax row; 13+ is one axis.
                op = .softmax(axis: attr("axis")?.int ?? (model.opset < 13 ? 1 : -1), coerce2D: model.opset < 13)
            case "ReduceMean":
                guard let axes = attr("axes")?.ints else { throw refuse("axes as an input (opset 18) is not supported") }
                op = .reduceMean(axes: axes, keepDims: (attr("keepdims")?.int ?? 1) != 0)
            default:
                throw refuse("no implementation")
            }
            if case .constant = op { continue } // its value is in `constants`
            nodes.append(Node(name: n.name, op: op, inputs: n.inputs, outputs: outputs))
        }
        // Initializers any remaining node reads as a plain value (MatMul weights, shapes, Add biases).
        for node in nodes {
            for i in node.inputs where !i.isEmpty && constants[i] == nil && isConstant(i) {
                if case .conv = node.op { continue }
                if case .convTranspose = node.op { continue }
                if case .batchNorm = node.op { continue }
                _ = try constant(i, node: node.name)
            }
        }
        self.nodes = nodes
        self.constants = constants
        var last: [String: Int] = [:]
        for (i, node) in nodes.enumerated() { for input in node.inputs { last[input] = i } }
        var lastUse = [[String]](repeating: [], count: nodes.count)
        for (name, i) in last where constants[name] == nil && name != outputName { lastUse[i].append(name) }
        self.lastUse = lastUse
    }

    /// Runs the network on `input` (NCHW) and returns the graph's first output.
    func run(_ input: Value, pool: ThreadPool = .shared) throws(OCRError) -> Value {
        var values: [String: Value] = [inputName: input]
        for (i, node) in nodes.enumerated() {
            func arg(_ k: Int) throws(OCRError) -> Value {
                guard k < node.inputs.count, !node.inputs[k].isEmpty else { throw .shape(node: node.name, reason: "missing input \(k)") }
                let name = node.inputs[k]
                // This node is the value's last reader: it is handed over rather than shared,
                // so an op that writes its input in place (activations, batch norm, softmax)
                // does not copy it first.
                if lastUse[i].contains(name), node.inputs.lazy.filter({ $0 == name }).count == 1,
                   let v = values.removeValue(forKey: name) { return v }
                if let v = values[name] ?? constants[name] { return v }
                throw .shape(node: node.name, reason: "input \(name) has not been computed")
            }
            func optionalArg(_ k: Int) throws(OCRError) -> Value? {
                k < node.inputs.count && !node.inputs[k].isEmpty ? try arg(k) : nil
            }
            let out = try Self.execute(node, arg: arg, optionalArg: optionalArg, pool: pool)
            values[node.outputs[0]] = out
            for name in lastUse[i] { values[name] = nil }
        }
        guard let result = values[outputName] else { throw .shape(node: outputName, reason: "the graph output was not computed") }
        return result
    }
}

/// Why running a network failed (shapes the graph cannot take, a bad picture).
public enum OCRError: Error, Equatable, CustomStringConvertible {
    case shape(node: String, reason: String)
    case kernel(String)
    case dictionary(path: String, reason: String)

    public var description: String {
        switch self {
        case let .shape(node, reason): return "OCR network node \(node): \(reason)"
        case let .kernel(m): return "OCR kernel failed: \(m)"
        case let .dictionary(path, reason): return "OCR dictionary \(path): \(reason)"
        }
    }
}
