// The protobuf readers (ONNX ModelProto, TensorFlow GraphDef) on files encoded field by field
// in the test: initializers in raw and typed storage, node attributes, value-info shapes,
// Const nodes with tensor_content and splatted float_val, and the errors for an empty file,
// a non-protobuf file, a truncated file, a file of the other kind, and absurd lengths. Then
// smoke tests on the real downloaded models when they are installed.
import Foundation
@testable import ModelIO
import TestSupport
import XCTest

/// A minimal protobuf writer for building test files.
private struct PB {
    var bytes: [UInt8] = []

    static func varint(_ v: UInt64) -> [UInt8] {
        var v = v, out: [UInt8] = []
        while v >= 0x80 { out.append(UInt8(v & 0x7F) | 0x80); v >>= 7 }
        out.append(UInt8(v))
        return out
    }

    mutating func int(_ field: Int, _ v: Int64) { bytes += Self.varint(UInt64(field << 3)) + Self.varint(UInt64(bitPattern: v)) }
    mutating func float(_ field: Int, _ v: Float) {
        bytes += Self.varint(UInt64(field << 3 | 5)) + withUnsafeBytes(of: v.bitPattern.littleEndian, Array.init)
    }
    mutating func bytes(_ field: Int, _ payload: [UInt8]) {
        bytes += Self.varint(UInt64(field << 3 | 2)) + Self.varint(UInt64(payload.count)) + payload
    }
    mutating func string(_ field: Int, _ s: String) { bytes(field, Array(s.utf8)) }
    mutating func message(_ field: Int, _ m: PB) { bytes(field, m.bytes) }
    mutating func packedInts(_ field: Int, _ v: [Int64]) { bytes(field, v.flatMap { Self.varint(UInt64(bitPattern: $0)) }) }
    mutating func packedFloats(_ field: Int, _ v: [Float]) { bytes(field, Self.le(v)) }

    static func le(_ v: [Float]) -> [UInt8] { v.flatMap { withUnsafeBytes(of: $0.bitPattern.littleEndian, Array.init) } }
    static func le(_ v: [Int64]) -> [UInt8] { v.flatMap { withUnsafeBytes(of: $0.littleEndian, Array.init) } }
}

final class ProtobufModelTests: XCTestCase {
    private var temporary: TemporaryDirectory!

    override func setUpWithError() throws { temporary = try TemporaryDirectory(prefix: "protobuf") }

    override func tearDownWithError() throws { temporary = nil }

    private func write(_ name: String, _ bytes: [UInt8]) throws -> String { try temporary.write(name, bytes) }

    // MARK: - ONNX

    /// ONNX TensorProto: dims 1, data_type 2, float_data 4, int32_data 5, int64_data 7, name 8, raw_data 9.
    private func onnxTensor(_ name: String, dims: [Int64], type: Int64, build: (inout PB) -> Void) -> PB {
        var t = PB()
        t.packedInts(1, dims)
        t.int(2, type)
        t.string(8, name)
        build(&t)
        return t
    }

    private func attribute(_ name: String, type: Int64, _ build: (inout PB) -> Void) -> PB {
        var a = PB()
        a.string(1, name)
        build(&a)
        a.int(20, type)
        return a
    }

    /// A two-node graph (Conv -> Reshape) with four initializers in different storages.
    private func sampleONNX() -> [UInt8] {
        var graph = PB()
        var conv = PB()
        conv.string(1, "x"); conv.string(1, "w"); conv.string(1, "")
        conv.string(2, "y")
        conv.string(3, "conv0")
        conv.string(4, "Conv")
        conv.message(5, attribute("kernel_shape", type: 7) { $0.packedInts(8, [3, 3]) })
        conv.message(5, attribute("group", type: 2) { $0.int(3, 4) })
        conv.message(5, attribute("alpha", type: 1) { $0.float(2, 0.25) })
        conv.message(5, attribute("auto_pad", type: 3) { $0.string(4, "NOTSET") })
        conv.message(5, attribute("scales", type: 6) { $0.packedFloats(7, [1, 2.5]) })
        conv.message(5, attribute("value", type: 4) {
            $0.message(5, self.onnxTensor("v", dims: [2], type: 7) { $0.packedInts(7, [-3, 9]) })
        })
        graph.message(1, conv)
        var reshape = PB()
        reshape.string(1, "y"); reshape.string(1, "shape"); reshape.string(2, "out"); reshape.string(4, "Reshape")
        graph.message(1, reshape)
        graph.string(2, "tiny")
        graph.message(5, onnxTensor("w", dims: [2, 3], type: 1) { $0.bytes(9, PB.le([1, -2, 3.5, 0, 0.125, -1e-3])) })
        graph.message(5, onnxTensor("b", dims: [3], type: 1) { $0.packedFloats(4, [7, 8, 9]) })
        graph.message(5, onnxTensor("shape", dims: [2], type: 7) { $0.bytes(9, PB.le([Int64(-1), 6])) })
        // FLOAT16 in int32_data: 1.0 = 0x3C00, -2.0 = 0xC000.
        graph.message(5, onnxTensor("h", dims: [2], type: 10) { $0.packedInts(5, [0x3C00, 0xC000]) })
        var input = PB()
        input.string(1, "x")
        var tensorType = PB(), shape = PB(), d0 = PB(), d1 = PB()
        d0.int(1, 1)
        d1.string(2, "width")
        shape.message(1, d0); shape.message(1, d1)
        tensorType.int(1, 1); tensorType.message(2, shape)
        var type = PB()
        type.message(1, tensorType)
        input.message(2, type)
        graph.message(11, input)
        var output = PB()
        output.string(1, "out")
        graph.message(12, output)

        var model = PB()
        model.int(1, 8)
        model.string(2, "test")
        model.message(7, graph)
        var opset = PB()
        opset.string(1, ""); opset.int(2, 14)
        model.message(8, opset)
        return model.bytes
    }

    func testReadsONNXGraphInitializersAndAttributes() throws {
        let path = try write("tiny.onnx", sampleONNX())
        let model = try ONNXModel(path: path)
        XCTAssertEqual(model.irVersion, 8)
        XCTAssertEqual(model.producerName, "test")
        XCTAssertEqual(model.opset, 14)
        XCTAssertEqual(model.graph.name, "tiny")
        XCTAssertEqual(model.graph.nodes.map(\.opType), ["Conv", "Reshape"])
        let conv = model.graph.nodes[0]
        XCTAssertEqual(conv.name, "conv0")
        XCTAssertEqual(conv.inputs, ["x", "w", ""])
        XCTAssertEqual(conv.outputs, ["y"])
        XCTAssertEqual(conv.attributes["kernel_shape"]?.ints, [3, 3])
        XCTAssertEqual(conv.attributes["group"]?.int, 4)
        XCTAssertEqual(conv.attributes["alpha"]?.float, 0.25)
        XCTAssertEqual(conv.attributes["auto_pad"]?.string, "NOTSET")
        XCTAssertEqual(conv.attributes["scales"]?.floats, [1, 2.5])
        XCTAssertEqual(try conv.attributes["value"]?.tensor?.integers(), [-3, 9])

        XCTAssertEqual(model.graph.initializerNames, ["w", "b", "shape", "h"])
        XCTAssertEqual(model.shape(of: "w"), [2, 3])
        XCTAssertEqual(try model.floats("w", shape: [2, 3]), [1, -2, 3.5, 0, 0.125, -1e-3])
        XCTAssertEqual(try model.tensor("w").isRaw, true)
        XCTAssertEqual(try model.floats("b"), [7, 8, 9])
        XCTAssertEqual(try model.integers("shape"), [-1, 6])
        XCTAssertEqual(try model.tensor("shape").elementType, .int64)
        XCTAssertEqual(try model.floats("h"), [1, -2])
        XCTAssertEqual(try model.weight("h").elementType, .float16)

        XCTAssertEqual(model.graph.inputs, [ONNXValueInfo(name: "x", elementType: .float32, shape: [.value(1), .parameter("width")])])
        XCTAssertEqual(model.graph.outputs.map(\.name), ["out"])
        XCTAssertNil(model.graph.outputs[0].shape)
    }

    func testONNXTensorErrorsNameTheTensor() throws {
        let path = try write("tiny.onnx", sampleONNX())
        let model = try ONNXModel(path: path)
        XCTAssertThrowsError(try model.floats("conv.weight")) {
            XCTAssertEqual($0 as? ModelLoadError, .missingTensor(path: path, name: "conv.weight"))
        }
        XCTAssertThrowsError(try model.floats("w", shape: [3, 2])) {
            XCTAssertEqual($0 as? ModelLoadError, .unexpectedShape(path: path, name: "w", expected: "[3, 2]", found: [2, 3]))
        }
        XCTAssertThrowsError(try model.weight("shape")) {
            XCTAssertEqual($0 as? ModelLoadError, .unsupportedDType(path: path, name: "shape", dtype: "int64"))
        }
    }

    func testMalformedONNXFiles() throws {
        let good = sampleONNX()
        var rawMismatch = PB()
        var g = PB()
        g.message(5, onnxTensor("w", dims: [4], type: 1) { $0.bytes(9, PB.le([Float(1), 2])) })
        rawMismatch.int(1, 7); rawMismatch.message(7, g)
        var hugeLength = PB()
        hugeLength.int(1, 7)
        hugeLength.bytes += [0x3A] + PB.varint(1 << 40) // field 7, wire 2, 1 TB
        var graphless = PB()
        graphless.int(1, 7)
        let cases: [(String, [UInt8], String)] = [
            ("empty", [], "the file is empty"),
            ("text", Array("hello, not a model\n".utf8), "not a protobuf message"),
            ("truncated", Array(good.prefix(good.count - 7)), "truncated file"),
            ("huge", hugeLength.bytes, "claims 1099511627776 bytes"),
            ("raw", rawMismatch.bytes, "graph.initializer[0]: tensor \"w\" has 8 raw bytes, shape [4] of float32 needs 16"),
            ("graphless", graphless.bytes, "no graph field"),
            ("graphdef", sampleGraphDef(), "not an ONNX ModelProto (a TensorFlow GraphDef"),
        ]
        for (name, bytes, expected) in cases {
            let path = try write("\(name).onnx", bytes)
            XCTAssertThrowsError(try ONNXModel(path: path), name) { error in
                guard case let .malformed(p, format, reason) = error as? ModelLoadError else { return XCTFail("\(name): \(error)") }
                XCTAssertEqual(p, path)
                XCTAssertEqual(format, "ONNX model")
                XCTAssertTrue(reason.contains(expected), "\(name): \(reason)")
            }
        }
    }

    func testDeepNestingIsRejected() throws {
        // The readers only descend as deep as the ONNX / GraphDef schemas go, but the wire
        // reader itself refuses to open a sub-message more than maxDepth levels down.
        var inner = PB()
        inner.int(1, 1)
        for _ in 0..<(ProtobufReader.maxDepth + 2) {
            var outer = PB()
            outer.message(1, inner)
            inner = outer
        }
        let bytes = inner.bytes
        let reason: String? = bytes.withUnsafeBytes { raw in
            var reader = ProtobufReader(bytes: raw)
            do throws(ProtobufError) {
                while let field = try reader.next(), field.wire == .lengthDelimited { reader = try reader.message(field) }
                return nil
            } catch {
                return error.description
            }
        }
        XCTAssertEqual(reason, "messages nest deeper than \(ProtobufReader.maxDepth) levels")
    }

    // MARK: - TensorFlow GraphDef

    /// TF TensorProto: dtype 1, tensor_shape 2 (dim 2: size 1), tensor_content 4, float_val 5, int_val 7.
    private func tfTensor(dtype: Int64, dims: [Int64], build: (inout PB) -> Void) -> PB {
        var shape = PB()
        for d in dims { var dim = PB(); dim.int(1, d); shape.message(2, dim) }
        var t = PB()
        t.int(1, dtype)
        t.message(2, shape)
        build(&t)
        return t
    }

    private func tfNode(_ name: String, op: String, inputs: [String] = [], attrs: [(String, PB)]) -> PB {
        var n = PB()
        n.string(1, name)
        n.string(2, op)
        for i in inputs { n.string(3, i) }
        for (key, value) in attrs {
            var entry = PB()
            entry.string(1, key)
            entry.message(2, value)
            n.message(5, entry)
        }
        return n
    }

    private func sampleGraphDef() -> [UInt8] {
        func attr(_ build: (inout PB) -> Void) -> PB { var a = PB(); build(&a); return a }
        var graph = PB()
        graph.message(1, tfNode("input", op: "Placeholder", attrs: [
            ("dtype", attr { $0.int(6, 1) }),
            ("shape", attr { a in
                var s = PB()
                for d: Int64 in [1, -1, -1, 3] { var dim = PB(); dim.int(1, d); s.message(2, dim) }
                a.message(7, s)
            }),
        ]))
        graph.message(1, tfNode("conv/weights", op: "Const", attrs: [
            ("dtype", attr { $0.int(6, 1) }),
            ("value", attr { $0.message(8, self.tfTensor(dtype: 1, dims: [1, 1, 2, 2]) { $0.bytes(4, PB.le([0.5, -1, 2, 4])) }) }),
        ]))
        graph.message(1, tfNode("bn/epsilon", op: "Const", attrs: [
            ("value", attr { $0.message(8, self.tfTensor(dtype: 1, dims: [3]) { $0.packedFloats(5, [1e-3]) }) }),
        ]))
        graph.message(1, tfNode("axes", op: "Const", attrs: [
            ("value", attr { $0.message(8, self.tfTensor(dtype: 3, dims: [2]) { $0.packedInts(7, [1, -2]) }) }),
        ]))
        graph.message(1, tfNode("conv", op: "Conv2D", inputs: ["input", "conv/weights", "^axes"], attrs: [
            ("strides", attr { a in var l = PB(); l.packedInts(3, [1, 2, 2, 1]); a.message(1, l) }),
            ("padding", attr { $0.string(2, "SAME") }),
            ("use_cudnn_on_gpu", attr { $0.int(5, 1) }),
            ("epsilon", attr { $0.float(4, 0.001) }),
            ("T", attr { $0.int(6, 1) }),
        ]))
        var versions = PB()
        versions.int(1, 27)
        graph.message(4, versions)
        return graph.bytes
    }

    func testReadsGraphDefNodesAttributesAndConstants() throws {
        let path = try write("graph.pb", sampleGraphDef())
        let graph = try TensorFlowGraph(path: path)
        XCTAssertEqual(graph.producer, 27)
        XCTAssertEqual(graph.nodes.map(\.op), ["Placeholder", "Const", "Const", "Const", "Conv2D"])
        guard case let .shape(shape)? = graph.node(named: "input")?.attributes["shape"] else { return XCTFail("no shape") }
        XCTAssertEqual(shape, [1, -1, -1, 3])
        XCTAssertEqual(graph.node(named: "input")?.attributes["dtype"]?.type, .float32)
        let conv = try XCTUnwrap(graph.node(named: "conv"))
        XCTAssertEqual(conv.inputs, ["input", "conv/weights", "^axes"])
        XCTAssertEqual(conv.attributes["strides"]?.list?.ints, [1, 2, 2, 1])
        XCTAssertEqual(conv.attributes["padding"]?.string, "SAME")
        XCTAssertEqual(conv.attributes["use_cudnn_on_gpu"]?.bool, true)
        XCTAssertEqual(conv.attributes["epsilon"]?.float, 0.001)

        XCTAssertEqual(graph.shape(of: "conv/weights"), [1, 1, 2, 2])
        XCTAssertEqual(try graph.floats("conv/weights", shape: [1, 1, 2, 2]), [0.5, -1, 2, 4])
        XCTAssertEqual(try graph.floats("bn/epsilon"), [1e-3, 1e-3, 1e-3]) // float_val splat
        XCTAssertEqual(try graph.integers("axes"), [1, -2])
        XCTAssertNil(graph.shape(of: "conv")) // not a Const
        XCTAssertThrowsError(try graph.floats("conv")) {
            XCTAssertEqual($0 as? ModelLoadError, .missingTensor(path: path, name: "conv"))
        }
    }

    func testMalformedGraphDefFiles() throws {
        let good = sampleGraphDef()
        let cases: [(String, [UInt8], String)] = [
            ("empty", [], "the file is empty"),
            ("text", Array("node { name: \"x\" }\n".utf8), "not a protobuf message"),
            ("truncated", Array(good.prefix(good.count / 2)), "truncated file"),
            ("onnx", sampleONNX(), "not a GraphDef (an ONNX model"),
        ]
        for (name, bytes, expected) in cases {
            let path = try write("\(name).pb", bytes)
            XCTAssertThrowsError(try TensorFlowGraph(path: path), name) { error in
                guard case let .malformed(p, format, reason) = error as? ModelLoadError else { return XCTFail("\(name): \(error)") }
                XCTAssertEqual(p, path)
                XCTAssertEqual(format, "TensorFlow GraphDef")
                XCTAssertTrue(reason.contains(expected), "\(name): \(reason)")
            }
        }
    }

    /// Every prefix of a valid file either parses or throws; none traps.
    func testEveryTruncationFailsCleanly() throws {
        let onnx = sampleONNX(), graphDef = sampleGraphDef()
        var parsed = 0
        for n in 0..<onnx.count {
            let path = try write("p.onnx", Array(onnx.prefix(n)))
            if (try? ONNXModel(path: path)) != nil { parsed += 1 }
        }
        for n in 0..<graphDef.count {
            let path = try write("p.pb", Array(graphDef.prefix(n)))
            if (try? TensorFlowGraph(path: path)) != nil { parsed += 1 }
        }
        // A prefix ending exactly between top-level fields is itself a valid message; only a
        // few do (the ONNX one needs ir_version + graph; a GraphDef prefix needs whole nodes).
        XCTAssertLessThan(parsed, 10)
    }

    // MARK: - Real files (when Scripts/fetch-models has installed them)

    func testPPOCRModelsLoad() throws {
        let dir = Fixtures.modelsDirectory + "/ppocr-v5-mobile"
        guard FileManager.default.fileExists(atPath: dir + "/ppocrv5_det.onnx") else {
            throw XCTSkip("ppocr-v5-mobile is not installed (Scripts/fetch-models ppocr-v5-mobile)")
        }
        let det = try ONNXModel(path: dir + "/ppocrv5_det.onnx")
        XCTAssertGreaterThan(det.graph.nodes.count, 100)
        XCTAssertEqual(det.graph.inputs.first?.shape?.count, 4)
        XCTAssertTrue(det.graph.nodes.contains { $0.opType == "Conv" })
        // Every initializer decodes to its shape's element count.
        var elements = 0
        for name in det.graph.initializerNames {
            let t = try det.tensor(name)
            elements += t.elementType.isFloatingPoint ? try t.floats().count : try t.integers().count
        }
        XCTAssertGreaterThan(elements, 1_000_000)
        let rec = try ONNXModel(path: dir + "/ppocrv5_rec.onnx")
        XCTAssertGreaterThan(rec.graph.nodes.count, 100)
    }

    func testSSDLitePersonGraphLoads() throws {
        let path = Fixtures.modelsDirectory + "/ssdlite-person/frozen_inference_graph.pb"
        guard FileManager.default.fileExists(atPath: path) else {
            throw XCTSkip("ssdlite-person is not installed (Scripts/fetch-models ssdlite-person)")
        }
        let graph = try TensorFlowGraph(path: path)
        XCTAssertGreaterThan(graph.nodes.count, 100)
        let consts = graph.nodes.filter { $0.op == "Const" }
        XCTAssertGreaterThan(consts.count, 50)
        var floats = 0
        for node in consts {
            let t = try graph.constant(node.name)
            if t.elementType == .float32 { floats += try t.floats().count }
        }
        XCTAssertGreaterThan(floats, 1_000_000)
    }
}
