// Reader for TensorFlow GraphDef files (a frozen `frozen_inference_graph.pb`): the nodes with
// their op, inputs and attributes, and the Const nodes' tensors exposed through `TensorFile`
// by node name. Field numbers used (tensorflow/core/framework/*.proto):
//   GraphDef         1 node, 4 versions (VersionDef 1 producer, 2 min_consumer)
//   NodeDef          1 name, 2 op, 3 input, 4 device, 5 attr (map entry: 1 key, 2 AttrValue)
//   AttrValue        1 list, 2 s, 3 i, 4 f, 5 b, 6 type, 7 shape, 8 tensor, 9 placeholder, 10 func
//   ListValue        2 s, 3 i, 4 f, 5 b, 6 type, 7 shape, 8 tensor
//   TensorShapeProto 2 dim (Dim 1 size, 2 name), 3 unknown_rank
//   TensorProto      1 dtype, 2 tensor_shape, 4 tensor_content, 5 float_val, 6 double_val,
//                    7 int_val, 10 int64_val, 11 bool_val, 13 half_val, 16 uint32_val, 17 uint64_val
// The function library (field 2) is not read: frozen inference graphs inline everything.
import Kernels

public indirect enum TensorFlowAttribute: Sendable {
    case string(String)
    case int(Int)
    case float(Float)
    case bool(Bool)
    case type(TensorElementType)
    /// nil for an unknown rank; -1 marks an unknown dimension.
    case shape([Int]?)
    case tensor(ProtobufTensor)
    case list(List)
    case placeholder(String)
    /// A function name (NameAttrList.name).
    case function(String)

    public struct List: Sendable {
        public var strings: [String] = []
        public var ints: [Int] = []
        public var floats: [Float] = []
        public var bools: [Bool] = []
        public var types: [TensorElementType] = []
        public var shapes: [[Int]?] = []
        public var tensors: [ProtobufTensor] = []
    }

    public var int: Int? { if case let .int(v) = self { v } else { nil } }
    public var float: Float? { if case let .float(v) = self { v } else { nil } }
    public var bool: Bool? { if case let .bool(v) = self { v } else { nil } }
    public var string: String? { if case let .string(v) = self { v } else { nil } }
    public var tensor: ProtobufTensor? { if case let .tensor(v) = self { v } else { nil } }
    public var list: List? { if case let .list(v) = self { v } else { nil } }
    public var type: TensorElementType? { if case let .type(v) = self { v } else { nil } }
}

public struct TensorFlowNode: Sendable {
    public let name: String
    public let op: String
    /// "node", "node:1" (second output) or "^node" (control dependency).
    public let inputs: [String]
    public let device: String
    public let attributes: [String: TensorFlowAttribute]
}

public final class TensorFlowGraph: TensorFile, @unchecked Sendable { // immutable after init
    public let path: String
    /// In file order.
    public let nodes: [TensorFlowNode]
    /// VersionDef.producer (the GraphDef version of the TensorFlow that wrote it), 0 if absent.
    public let producer: Int
    private let index: [String: Int]
    private let file: MappedFile

    static let format = "TensorFlow GraphDef"

    public init(path: String) throws(ModelLoadError) {
        self.path = path
        let file = try MappedFile(path: path)
        self.file = file
        let parser = Parser(file: file, path: path)
        do {
            (nodes, producer) = try parser.graph()
        } catch {
            throw .malformed(path: path, format: Self.format, reason: error.description)
        }
        var index: [String: Int] = [:]
        for (i, n) in nodes.enumerated() {
            guard index[n.name] == nil else {
                throw .malformed(path: path, format: Self.format, reason: "node name \"\(n.name)\" appears twice")
            }
            index[n.name] = i
        }
        self.index = index
    }

    public func node(named name: String) -> TensorFlowNode? { index[name].map { nodes[$0] } }

    /// The "value" tensor of Const node `name`.
    public func constant(_ name: String) throws(ModelLoadError) -> ProtobufTensor {
        guard let node = node(named: name), node.op == "Const", let t = node.attributes["value"]?.tensor else {
            throw .missingTensor(path: path, name: name)
        }
        return t
    }

    public func shape(of name: String) -> [Int]? { try? constant(name).shape }

    public func weight(_ name: String, shape: [Int]? = nil) throws(ModelLoadError) -> WeightTensor {
        try constant(name).weight(shape: shape)
    }

    /// An integer Const node's values as Int64.
    public func integers(_ name: String) throws(ModelLoadError) -> [Int64] {
        try constant(name).integers()
    }
}

// MARK: - Parsing

extension TensorFlowGraph {
    private struct Parser {
        let file: MappedFile
        let path: String
        var bytes: UnsafeRawBufferPointer { file.bytes }

        func graph() throws(ProtobufError) -> ([TensorFlowNode], Int) {
            if bytes.isEmpty { throw ProtobufError("the file is empty") }
            var r = ProtobufReader(bytes: bytes)
            var nodes: [TensorFlowNode] = []
            var producer = 0
            var sawVersions = false
            while let f = try r.next() {
                switch f.number {
                case 1:
                    // An ONNX ModelProto starts with field 1 as the ir_version varint.
                    guard f.wire == .lengthDelimited else {
                        throw ProtobufError("field 1 (node) is a \(f.wire.name) field, so this is not a GraphDef (an ONNX model starts this way)")
                    }
                    let i = nodes.count
                    nodes.append(try protobufContext("node[\(i)]") { () throws(ProtobufError) in try node(r.message(f)) })
                case 4:
                    sawVersions = true
                    var v = try r.message(f)
                    while let vf = try v.next() {
                        if vf.number == 1 { producer = try ProtobufReader.int(vf, in: 0...1_000_000) }
                    }
                case 7, 8:
                    // ModelProto.graph / opset_import: GraphDef has no such fields.
                    throw ProtobufError("field \(f.number) is not a GraphDef field; this looks like an ONNX model")
                default: break
                }
            }
            guard !nodes.isEmpty || sawVersions else { throw ProtobufError("no nodes and no versions: not a GraphDef") }
            return (nodes, producer)
        }

        func node(_ reader: ProtobufReader) throws(ProtobufError) -> TensorFlowNode {
            var r = reader
            var name = "", op = "", device = ""
            var inputs: [String] = []
            var attributes: [String: TensorFlowAttribute] = [:]
            while let f = try r.next() {
                switch f.number {
                case 1: name = try ProtobufReader.string(bytes, f)
                case 2: op = try ProtobufReader.string(bytes, f)
                case 3: inputs.append(try ProtobufReader.string(bytes, f))
                case 4: device = try ProtobufReader.string(bytes, f)
                case 5:
                    var entry = try r.message(f)
                    var key = ""
                    var value: TensorFlowAttribute?
                    while let ef = try entry.next() {
                        switch ef.number {
                        case 1: key = try ProtobufReader.string(bytes, ef)
                        case 2: value = try protobufContext("attr") { () throws(ProtobufError) in try attribute(entry.message(ef), node: name) }
                        default: break
                        }
                    }
                    if let value { attributes[key] = value }
                default: break
                }
            }
            guard !op.isEmpty else { throw ProtobufError("node \"\(name)\" has no op") }
            return TensorFlowNode(name: name, op: op, inputs: inputs, device: device, attributes: attributes)
        }

        func attribute(_ reader: ProtobufReader, node: String) throws(ProtobufError) -> TensorFlowAttribute? {
            var r = reader
            var value: TensorFlowAttribute?
            while let f = try r.next() {
                switch f.number {
                case 1: value = .list(try list(r.message(f), node: node))
                case 2: value = .string(try ProtobufReader.string(bytes, f))
                case 3: value = .int(Int(truncatingIfNeeded: try ProtobufReader.int64(f)))
                case 4: value = .float(try ProtobufReader.float(bytes, f))
                case 5: value = .bool(try ProtobufReader.int64(f) != 0)
                case 6: value = .type(TensorElementType(tensorFlow: try ProtobufReader.int(f, in: 0...1000)))
                case 7: value = .shape(try shape(r.message(f)))
                case 8: value = .tensor(try tensor(r.message(f), name: node))
                case 9: value = .placeholder(try ProtobufReader.string(bytes, f))
                case 10:
                    var fn = try r.message(f)
                    var fname = ""
                    while let ff = try fn.next() {
                        if ff.number == 1 { fname = try ProtobufReader.string(bytes, ff) }
                    }
                    value = .function(fname)
                default: break
                }
            }
            return value
        }

        func list(_ reader: ProtobufReader, node: String) throws(ProtobufError) -> TensorFlowAttribute.List {
            var r = reader
            var l = TensorFlowAttribute.List()
            var ints: [Int64] = [], bools: [Int64] = [], types: [Int64] = []
            while let f = try r.next() {
                switch f.number {
                case 2: l.strings.append(try ProtobufReader.string(bytes, f))
                case 3: try ProtobufReader.int64s(bytes, f, into: &ints)
                case 4: try ProtobufReader.floats(bytes, f, into: &l.floats)
                case 5: try ProtobufReader.int64s(bytes, f, into: &bools)
                case 6: try ProtobufReader.int64s(bytes, f, into: &types)
                case 7: l.shapes.append(try shape(r.message(f)))
                case 8: l.tensors.append(try tensor(r.message(f), name: node))
                default: break
                }
            }
            l.ints = ints.map { Int(truncatingIfNeeded: $0) }
            l.bools = bools.map { $0 != 0 }
            l.types = types.map { TensorElementType(tensorFlow: Int(truncatingIfNeeded: $0)) }
            return l
        }

        /// nil for unknown rank; -1 for an unknown dimension.
        func shape(_ reader: ProtobufReader) throws(ProtobufError) -> [Int]? {
            var r = reader
            var dims: [Int] = []
            var unknownRank = false
            while let f = try r.next() {
                switch f.number {
                case 2:
                    var d = try r.message(f)
                    var size = 0
                    while let df = try d.next() {
                        if df.number == 1 { size = try ProtobufReader.int(df, in: -1...Int64(Int32.max)) }
                    }
                    dims.append(size)
                case 3: unknownRank = try ProtobufReader.int64(f) != 0
                default: break
                }
            }
            return unknownRank ? nil : dims
        }

        func tensor(_ reader: ProtobufReader, name: String) throws(ProtobufError) -> ProtobufTensor {
            var r = reader
            var dtype = 0
            var dims: [Int]?
            var content: Range<Int>?
            var typed: [Int: [ProtobufField]] = [:]
            while let f = try r.next() {
                switch f.number {
                case 1: dtype = try ProtobufReader.int(f, in: 0...1000)
                case 2: dims = try shape(r.message(f))
                case 4:
                    guard f.wire == .lengthDelimited else { throw ProtobufError("tensor_content is \(f.wire.name), expected bytes") }
                    content = f.range
                case 5, 6, 7, 10, 11, 13, 16, 17: typed[f.number, default: []].append(f)
                default: break
                }
            }
            let type = TensorElementType(tensorFlow: dtype)
            guard let dims else { throw ProtobufError("tensor of node \"\(name)\" has an unknown rank") }
            let shape = try ProtobufTensor.checked(shape: dims.map { Int64($0) }, name: name)
            let values: ProtobufTensor.Values
            if let content, !content.isEmpty {
                try ProtobufTensor.checkRaw(content, shape: shape, type: type, name: name)
                values = .raw(content)
            } else {
                let field: Int, encoding: ProtobufTensor.Encoding
                switch type {
                case .float32: (field, encoding) = (5, .float32)
                case .float64: (field, encoding) = (6, .float64)
                case .int64: (field, encoding) = (10, .varint)
                case .bool: (field, encoding) = (11, .varint)
                case .float16, .bfloat16: (field, encoding) = (13, .halfBits)
                case .uint32: (field, encoding) = (16, .uint64Varint)
                case .uint64: (field, encoding) = (17, .uint64Varint)
                case .int8, .uint8, .int16, .uint16, .int32: (field, encoding) = (7, .varint)
                default: (field, encoding) = (0, .varint)
                }
                values = typed[field].map { .typed($0, encoding) } ?? .empty
            }
            return ProtobufTensor(name: name, shape: shape, elementType: type, path: path, values: values,
                                  splatsLastValue: true, file: file)
        }
    }
}
