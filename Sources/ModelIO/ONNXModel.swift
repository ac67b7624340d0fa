// Reader for ONNX model files (onnx/onnx.proto, IR version 3 and later): the ModelProto's
// opsets and its main graph — initializers, nodes with their attributes, and the graph's
// inputs and outputs with shapes. Field numbers used (onnx.proto):
//   ModelProto      1 ir_version, 2 producer_name, 3 producer_version, 7 graph, 8 opset_import
//   OperatorSetId   1 domain, 2 version
//   GraphProto      1 node, 2 name, 5 initializer, 11 input, 12 output
//   NodeProto       1 input, 2 output, 3 name, 4 op_type, 5 attribute, 7 domain
//   AttributeProto  1 name, 2 f, 3 i, 4 s, 5 t, 6 g, 7 floats, 8 ints, 9 strings, 10 tensors, 20 type
//   ValueInfoProto  1 name, 2 type;  TypeProto 1 tensor_type;  TypeProto.Tensor 1 elem_type, 2 shape
//   TensorShapeProto 1 dim;  Dimension 1 dim_value, 2 dim_param
//   TensorProto     1 dims, 2 data_type, 4 float_data, 5 int32_data, 7 int64_data, 8 name,
//                   9 raw_data, 10 double_data, 11 uint64_data, 13 external_data, 14 data_location
// Initializers are exposed through `TensorFile` by name, so a model loads ONNX weights as it
// loads safetensors ones. Weights kept in external files and subgraph attributes (If/Loop
// bodies) are not read: the first is an error naming the tensor, the second is reported as
// `.graph` for the interpreter to refuse.
import Kernels

public struct ONNXValueInfo: Sendable, Hashable {
    public enum Dimension: Sendable, Hashable {
        case value(Int)
        /// A symbolic dimension ("batch", "width").
        case parameter(String)
        case unknown
    }

    public let name: String
    public let elementType: TensorElementType?
    /// nil when the file gives no shape.
    public let shape: [Dimension]?
}

public enum ONNXAttribute: Sendable {
    case int(Int)
    case ints([Int])
    case float(Float)
    case floats([Float])
    case string(String)
    case strings([String])
    case tensor(ProtobufTensor)
    case tensors([ProtobufTensor])
    /// A subgraph (If / Loop / Scan body), not decoded.
    case graph

    public var int: Int? { if case let .int(v) = self { v } else { nil } }
    public var ints: [Int]? { if case let .ints(v) = self { v } else { nil } }
    public var float: Float? { if case let .float(v) = self { v } else { nil } }
    public var floats: [Float]? { if case let .floats(v) = self { v } else { nil } }
    public var string: String? { if case let .string(v) = self { v } else { nil } }
    public var tensor: ProtobufTensor? { if case let .tensor(v) = self { v } else { nil } }
}

public struct ONNXNode: Sendable {
    public let name: String
    public let opType: String
    /// "" (or "ai.onnx") for the standard operators.
    public let domain: String
    /// Input value names; "" marks an omitted optional input.
    public let inputs: [String]
    public let outputs: [String]
    public let attributes: [String: ONNXAttribute]
}

public struct ONNXGraph: Sendable {
    public let name: String
    /// In file order, which ONNX requires to be a topological order.
    public let nodes: [ONNXNode]
    public let initializers: [String: ProtobufTensor]
    /// Initializer names in file order.
    public let initializerNames: [String]
    public let inputs: [ONNXValueInfo]
    public let outputs: [ONNXValueInfo]
}

public final class ONNXModel: TensorFile, @unchecked Sendable { // immutable after init
    public let path: String
    public let irVersion: Int
    public let producerName: String
    public let producerVersion: String
    /// Operator set versions by domain ("" is the default ai.onnx domain).
    public let opsets: [String: Int]
    public let graph: ONNXGraph
    private let file: MappedFile

    static let format = "ONNX model"

    public init(path: String) throws(ModelLoadError) {
        self.path = path
        let file = try MappedFile(path: path)
        self.file = file
        var parser = Parser(file: file, path: path)
        let model: Parser.Model
        do {
            model = try parser.model()
        } catch {
            throw .malformed(path: path, format: Self.format, reason: error.description)
        }
        irVersion = model.irVersion
        producerName = model.producerName
        producerVersion = model.producerVersion
        opsets = model.opsets
        graph = model.graph
    }

    /// The default-domain opset version (0 when the file names none).
    public var opset: Int { opsets[""] ?? opsets["ai.onnx"] ?? 0 }

    public func shape(of name: String) -> [Int]? { graph.initializers[name]?.shape }

    public func tensor(_ name: String) throws(ModelLoadError) -> ProtobufTensor {
        guard let t = graph.initializers[name] else { throw .missingTensor(path: path, name: name) }
        return t
    }

    public func weight(_ name: String, shape: [Int]? = nil) throws(ModelLoadError) -> WeightTensor {
        try tensor(name).weight(shape: shape)
    }

    /// An integer initializer (shape constants, axes) as Int64 values.
    public func integers(_ name: String) throws(ModelLoadError) -> [Int64] {
        try tensor(name).integers()
    }
}

// MARK: - Parsing

extension ONNXModel {
    private struct Parser {
        struct Model {
            var irVersion = 0
            var producerName = ""
            var producerVersion = ""
            var opsets: [String: Int] = [:]
            var graph: ONNXGraph
        }

        let file: MappedFile
        let path: String
        var bytes: UnsafeRawBufferPointer { file.bytes }

        mutating func model() throws(ProtobufError) -> Model {
            var r = ProtobufReader(bytes: bytes)
            var irVersion: Int?
            var producerName = "", producerVersion = ""
            var opsets: [String: Int] = [:]
            var graph: ONNXGraph?
            if bytes.isEmpty { throw ProtobufError("the file is empty") }
            while let f = try r.next() {
                switch f.number {
                case 1:
                    // A TensorFlow GraphDef starts with field 1 as its first NodeDef (a message).
                    guard f.wire == .varint else {
                        throw ProtobufError("field 1 (ir_version) is a \(f.wire.name) field, so this is not an ONNX ModelProto (a TensorFlow GraphDef starts this way)")
                    }
                    irVersion = try protobufContext("ir_version") { () throws(ProtobufError) in try ProtobufReader.int(f, in: 0...1000) }
                case 2: producerName = try ProtobufReader.string(bytes, f)
                case 3: producerVersion = try ProtobufReader.string(bytes, f)
                case 7: graph = try protobufContext("graph") { () throws(ProtobufError) in try self.graph(r.message(f)) }
                case 8:
                    let (domain, version) = try protobufContext("opset_import") { () throws(ProtobufError) in try opset(r.message(f)) }
                    opsets[domain] = version
                default: break
                }
            }
            guard let irVersion else { throw ProtobufError("no ir_version field: not an ONNX ModelProto") }
            guard let graph else { throw ProtobufError("no graph field: not an ONNX ModelProto (or a truncated one)") }
            return Model(irVersion: irVersion, producerName: producerName, producerVersion: producerVersion,
                         opsets: opsets, graph: graph)
        }

        func opset(_ reader: ProtobufReader) throws(ProtobufError) -> (String, Int) {
            var r = reader
            var domain = "", version = 0
            while let f = try r.next() {
                switch f.number {
                case 1: domain = try ProtobufReader.string(bytes, f)
                case 2: version = try ProtobufReader.int(f, in: 0...100_000)
                default: break
                }
            }
            return (domain, version)
        }

        func graph(_ reader: ProtobufReader) throws(ProtobufError) -> ONNXGraph {
            var r = reader
            var name = ""
            var nodes: [ONNXNode] = []
            var initializers: [String: ProtobufTensor] = [:]
            var initializerNames: [String] = []
            var inputs: [ONNXValueInfo] = [], outputs: [ONNXValueInfo] = []
            while let f = try r.next() {
                switch f.number {
                case 1:
                    let i = nodes.count
                    nodes.append(try protobufContext("node[\(i)]") { () throws(ProtobufError) in try node(r.message(f)) })
                case 2: name = try ProtobufReader.string(bytes, f)
                case 5:
                    let i = initializerNames.count
                    let t = try protobufContext("initializer[\(i)]") { () throws(ProtobufError) in try tensor(r.message(f)) }
                    guard initializers[t.name] == nil else { throw ProtobufError("initializer \"\(t.name)\" appears twice") }
                    initializers[t.name] = t
                    initializerNames.append(t.name)
                case 11:
                    let i = inputs.count
                    inputs.append(try protobufContext("input[\(i)]") { () throws(ProtobufError) in try valueInfo(r.message(f)) })
                case 12:
                    let i = outputs.count
                    outputs.append(try protobufContext("output[\(i)]") { () throws(ProtobufError) in try valueInfo(r.message(f)) })
                default: break
                }
            }
            return ONNXGraph(name: name, nodes: nodes, initializers: initializers, initializerNames: initializerNames,
                             inputs: inputs, outputs: outputs)
        }

        func node(_ reader: ProtobufReader) throws(ProtobufError) -> ONNXNode {
            var r = reader
            var name = "", opType = "", domain = ""
            var inputs: [String] = [], outputs: [String] = []
            var attributes: [String: ONNXAttribute] = [:]
            while let f = try r.next() {
                switch f.number {
                case 1: inputs.append(try ProtobufReader.string(bytes, f))
                case 2: outputs.append(try ProtobufReader.string(bytes, f))
                case 3: name = try ProtobufReader.string(bytes, f)
                case 4: opType = try ProtobufReader.string(bytes, f)
                case 5:
                    let i = attributes.count
                    let (key, value) = try protobufContext("attribute[\(i)]") { () throws(ProtobufError) in try attribute(r.message(f)) }
                    attributes[key] = value
                case 7: domain = try ProtobufReader.string(bytes, f)
                default: break
                }
            }
            guard !opType.isEmpty else { throw ProtobufError("node \"\(name)\" has no op_type") }
            return ONNXNode(name: name, opType: opType, domain: domain, inputs: inputs, outputs: outputs, attributes: attributes)
        }

        func attribute(_ reader: ProtobufReader) throws(ProtobufError) -> (String, ONNXAttribute) {
            var r = reader
            var name = ""
            var type: Int?
            var f32: Float?, i64: Int64?, s: String?, t: ProtobufTensor?, g = false
            var floats: [Float] = [], ints: [Int64] = [], strings: [String] = [], tensors: [ProtobufTensor] = []
            while let f = try r.next() {
                switch f.number {
                case 1: name = try ProtobufReader.string(bytes, f)
                case 2: f32 = try ProtobufReader.float(bytes, f)
                case 3: i64 = try ProtobufReader.int64(f)
                case 4: s = try ProtobufReader.string(bytes, f)
                case 5: t = try tensor(r.message(f))
                case 6, 11: g = true
                case 7: try ProtobufReader.floats(bytes, f, into: &floats)
                case 8: try ProtobufReader.int64s(bytes, f, into: &ints)
                case 9: strings.append(try ProtobufReader.string(bytes, f))
                case 10: tensors.append(try tensor(r.message(f)))
                case 20: type = try ProtobufReader.int(f, in: 0...100)
                default: break
                }
            }
            func int(_ v: Int64) throws(ProtobufError) -> Int {
                guard let i = Int(exactly: v) else { throw ProtobufError("attribute \"\(name)\" value \(v) does not fit") }
                return i
            }
            // AttributeType: FLOAT 1, INT 2, STRING 3, TENSOR 4, GRAPH 5, FLOATS 6, INTS 7, STRINGS 8, TENSORS 9.
            // Old writers (IR < 2) leave `type` out; then the one field present says it.
            let value: ONNXAttribute
            switch type {
            case 1: value = .float(f32 ?? 0)
            case 2: value = .int(try int(i64 ?? 0))
            case 3: value = .string(s ?? "")
            case 4:
                guard let t else { throw ProtobufError("attribute \"\(name)\" is TENSOR but has no tensor") }
                value = .tensor(t)
            case 5, 10: value = .graph
            case 6: value = .floats(floats)
            case 7: value = .ints(ints.map { Int(truncatingIfNeeded: $0) })
            case 8: value = .strings(strings)
            case 9: value = .tensors(tensors)
            case nil:
                if let f32 { value = .float(f32) }
                else if let i64 { value = .int(try int(i64)) }
                else if let s { value = .string(s) }
                else if let t { value = .tensor(t) }
                else if g { value = .graph }
                else if !floats.isEmpty { value = .floats(floats) }
                else if !ints.isEmpty { value = .ints(ints.map { Int(truncatingIfNeeded: $0) }) }
                else if !strings.isEmpty { value = .strings(strings) }
                else { value = .tensors(tensors) }
            case let other?: throw ProtobufError("attribute \"\(name)\" has unknown type \(other)")
            }
            return (name, value)
        }

        func valueInfo(_ reader: ProtobufReader) throws(ProtobufError) -> ONNXValueInfo {
            var r = reader
            var name = ""
            var elementType: TensorElementType?
            var shape: [ONNXValueInfo.Dimension]?
            while let f = try r.next() {
                switch f.number {
                case 1: name = try ProtobufReader.string(bytes, f)
                case 2:
                    var type = try r.message(f)
                    while let tf = try type.next() {
                        guard tf.number == 1 else { continue } // tensor_type; sequence/map types are not read
                        var tensorType = try type.message(tf)
                        while let ff = try tensorType.next() {
                            switch ff.number {
                            case 1: elementType = TensorElementType(onnx: try ProtobufReader.int(ff, in: 0...1000))
                            case 2:
                                var dims: [ONNXValueInfo.Dimension] = []
                                var shapeReader = try tensorType.message(ff)
                                while let d = try shapeReader.next() {
                                    guard d.number == 1 else { continue }
                                    var dimReader = try shapeReader.message(d)
                                    var dim = ONNXValueInfo.Dimension.unknown
                                    while let df = try dimReader.next() {
                                        switch df.number {
                                        case 1: dim = .value(try ProtobufReader.int(df, in: -1...Int64(Int32.max)))
                                        case 2: dim = .parameter(try ProtobufReader.string(bytes, df))
                                        default: break
                                        }
                                    }
                                    dims.append(dim)
                                }
                                shape = dims
                            default: break
                            }
                        }
                    }
                default: break
                }
            }
            return ONNXValueInfo(name: name, elementType: elementType, shape: shape)
        }

        func tensor(_ reader: ProtobufReader) throws(ProtobufError) -> ProtobufTensor {
            var r = reader
            var dims: [Int64] = []
            var dataType = 0
            var name = ""
            var raw: Range<Int>?
            var typed: [Int: [ProtobufField]] = [:]
            var external = false
            while let f = try r.next() {
                switch f.number {
                case 1: try ProtobufReader.int64s(bytes, f, into: &dims)
                case 2: dataType = try ProtobufReader.int(f, in: 0...1000)
                case 4, 5, 7, 10, 11: typed[f.number, default: []].append(f)
                case 8: name = try ProtobufReader.string(bytes, f)
                case 9:
                    guard f.wire == .lengthDelimited else { throw ProtobufError("raw_data is \(f.wire.name), expected bytes") }
                    raw = f.range
                case 14: external = try ProtobufReader.int64(f) == 1
                default: break
                }
            }
            if external { throw ProtobufError("tensor \"\(name)\" keeps its data in an external file, which is not supported") }
            let type = TensorElementType(onnx: dataType)
            let shape = try ProtobufTensor.checked(shape: dims, name: name)
            let values: ProtobufTensor.Values
            if let raw {
                try ProtobufTensor.checkRaw(raw, shape: shape, type: type, name: name)
                values = .raw(raw)
            } else {
                // Which typed field holds which element type (onnx.proto's comments on each field).
                let field: Int, encoding: ProtobufTensor.Encoding
                switch type {
                case .float32: (field, encoding) = (4, .float32)
                case .float64: (field, encoding) = (10, .float64)
                case .int64: (field, encoding) = (7, .varint)
                case .uint32, .uint64: (field, encoding) = (11, .uint64Varint)
                case .float16, .bfloat16: (field, encoding) = (5, .halfBits)
                case .int8, .uint8, .int16, .uint16, .int32, .bool: (field, encoding) = (5, .varint)
                default: (field, encoding) = (0, .varint)
                }
                values = typed[field].map { .typed($0, encoding) } ?? .empty
            }
            return ProtobufTensor(name: name, shape: shape, elementType: type, path: path, values: values,
                                  splatsLastValue: false, file: file)
        }
    }
}
