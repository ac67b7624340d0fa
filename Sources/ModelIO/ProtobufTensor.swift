// A tensor stored in a protobuf model file: ONNX's TensorProto (initializers, Constant and
// attribute tensors) and TensorFlow's TensorProto (Const nodes' "value"). Both keep values
// either as raw little-endian bytes (ONNX raw_data, TF tensor_content) or in typed repeated
// fields (float_data / float_val, int32_data / int_val, int64_data / int64_val, ...). The
// tensor keeps the byte ranges of those fields in the mapped file and decodes on request,
// so opening a model reads no payload. TensorFlow's typed fields may hold fewer values than
// the shape when the tail repeats the last one (a "splat": float_val [0.5] for shape [64]);
// decoding expands that as TensorFlow does.
import Kernels

/// Element types of ONNX and TensorFlow tensors (the union of what either names).
public enum TensorElementType: Sendable, Hashable, CustomStringConvertible {
    case float32, float16, bfloat16, float64
    case int8, uint8, int16, uint16, int32, uint32, int64, uint64
    case bool, string
    /// Any other code (complex, quantized, resource, ...), with the format's name for it.
    case other(String)

    /// Bytes per element in raw storage; nil for strings and the unsupported kinds.
    public var size: Int? {
        switch self {
        case .int8, .uint8, .bool: 1
        case .float16, .bfloat16, .int16, .uint16: 2
        case .float32, .int32, .uint32: 4
        case .float64, .int64, .uint64: 8
        case .string, .other: nil
        }
    }

    public var isFloatingPoint: Bool {
        switch self {
        case .float32, .float16, .bfloat16, .float64: true
        default: false
        }
    }

    public var description: String {
        switch self {
        case .float32: "float32"
        case .float16: "float16"
        case .bfloat16: "bfloat16"
        case .float64: "float64"
        case .int8: "int8"
        case .uint8: "uint8"
        case .int16: "int16"
        case .uint16: "uint16"
        case .int32: "int32"
        case .uint32: "uint32"
        case .int64: "int64"
        case .uint64: "uint64"
        case .bool: "bool"
        case .string: "string"
        case let .other(name): name
        }
    }

    /// ONNX `TensorProto.DataType`.
    init(onnx code: Int) {
        switch code {
        case 1: self = .float32
        case 2: self = .uint8
        case 3: self = .int8
        case 4: self = .uint16
        case 5: self = .int16
        case 6: self = .int32
        case 7: self = .int64
        case 8: self = .string
        case 9: self = .bool
        case 10: self = .float16
        case 11: self = .float64
        case 12: self = .uint32
        case 13: self = .uint64
        case 16: self = .bfloat16
        default: self = .other("ONNX data type \(code)")
        }
    }

    /// TensorFlow `DataType` (types.proto); the `_REF` variants (code + 100) name the same type.
    init(tensorFlow code: Int) {
        switch code > 100 ? code - 100 : code {
        case 1: self = .float32
        case 2: self = .float64
        case 3: self = .int32
        case 4: self = .uint8
        case 5: self = .int16
        case 6: self = .int8
        case 7: self = .string
        case 9: self = .int64
        case 10: self = .bool
        case 14: self = .bfloat16
        case 17: self = .uint16
        case 19: self = .float16
        case 22: self = .uint32
        case 23: self = .uint64
        default: self = .other("TensorFlow DataType \(code)")
        }
    }
}

public struct ProtobufTensor: Sendable {
    /// Where the values are: raw bytes, or occurrences of one typed repeated field.
    enum Values: Sendable {
        case raw(Range<Int>)
        /// Occurrences (packed or not) of a repeated field, read with `encoding`.
        case typed([ProtobufField], Encoding)
        case empty
    }

    /// How a typed repeated field's values are written and what they mean for the element type.
    enum Encoding: Sendable {
        case float32      // fixed32 floats
        case float64      // fixed64 doubles
        case varint       // int32 / int64 / bool / enum varints, sign-extended
        case uint64Varint // uint64_data / uint64_val
        case halfBits     // varints holding fp16 / bf16 bit patterns
    }

    public let name: String
    public let shape: [Int]
    public let elementType: TensorElementType
    /// The file named in errors.
    public let path: String
    let values: Values
    /// TensorFlow expands a short typed list by repeating its last value; ONNX does not.
    let splatsLastValue: Bool
    let file: MappedFile

    public var count: Int { shape.reduce(1, *) }

    /// True when the values are raw bytes inside the file (no per-value decoding).
    public var isRaw: Bool { if case .raw = values { true } else { false } }

    /// The values as a WeightTensor: float32 / float16 / bfloat16 storage as stored (float64
    /// narrowed to float32), checking the shape when given.
    public func weight(shape expected: [Int]? = nil) throws(ModelLoadError) -> WeightTensor {
        if let expected, expected != shape {
            throw .unexpectedShape(path: path, name: name, expected: "\(expected)", found: shape)
        }
        let storage: WeightTensor.Storage
        switch (elementType, values) {
        case (.float32, .raw(let range)), (.float16, .raw(let range)), (.bfloat16, .raw(let range)):
            let type: WeightElementType = elementType == .float32 ? .float32 : elementType == .float16 ? .float16 : .bfloat16
            return try SafeTensorsFile.decodeWeight(name: name, path: path, shape: shape, dtype: type,
                                                    bytes: UnsafeRawBufferPointer(rebasing: file.bytes[range]))
        case (.float16, _):
            storage = .float16(try integerValues().map { UInt16(truncatingIfNeeded: $0) })
        case (.bfloat16, _):
            storage = .bfloat16(try integerValues().map { UInt16(truncatingIfNeeded: $0) })
        case (.float32, _), (.float64, _):
            storage = .float32(try floats())
        default:
            throw .unsupportedDType(path: path, name: name, dtype: "\(elementType)")
        }
        do {
            return try WeightTensor(shape: shape, storage: storage)
        } catch {
            throw .unexpectedShape(path: path, name: name, expected: "\(count) elements", found: shape)
        }
    }

    /// The values widened or narrowed to Float32, whatever the numeric element type (integer
    /// tensors convert exactly up to 2^24). fp16 / bf16 are widened exactly.
    public func floats() throws(ModelLoadError) -> [Float] {
        switch elementType {
        case .float32:
            if case let .raw(range) = values { return rawValues(range, as: UInt32.self).map(Float.init(bitPattern:)) }
            return try decoded(float: true).floats
        case .float16: return try integerValues().map { HalfPrecision.float16ToFloat(UInt16(truncatingIfNeeded: $0)) }
        case .bfloat16: return try integerValues().map { HalfPrecision.bfloat16ToFloat(UInt16(truncatingIfNeeded: $0)) }
        case .float64:
            if case let .raw(range) = values { return rawValues(range, as: UInt64.self).map { Float(Double(bitPattern: $0)) } }
            return try decoded(float: true).floats
        default: return try integers().map { Float($0) }
        }
    }

    /// The values of an integer or bool tensor as Int64 (shapes, axes, indices).
    public func integers() throws(ModelLoadError) -> [Int64] {
        switch elementType {
        case .int8, .uint8, .int16, .uint16, .int32, .uint32, .int64, .uint64, .bool: return try integerValues()
        default: throw .unsupportedDType(path: path, name: name, dtype: "\(elementType) (integers wanted)")
        }
    }

    // MARK: - Decoding

    /// Integer-like values: the integer types, bool, and fp16/bf16 bit patterns.
    private func integerValues() throws(ModelLoadError) -> [Int64] {
        if case let .raw(range) = values {
            switch elementType {
            case .int8: return rawValues(range, as: UInt8.self).map { Int64(Int8(bitPattern: $0)) }
            case .uint8, .bool: return rawValues(range, as: UInt8.self).map { Int64($0) }
            case .int16: return rawValues(range, as: UInt16.self).map { Int64(Int16(bitPattern: $0)) }
            case .uint16, .float16, .bfloat16: return rawValues(range, as: UInt16.self).map { Int64($0) }
            case .int32: return rawValues(range, as: UInt32.self).map { Int64(Int32(bitPattern: $0)) }
            case .uint32: return rawValues(range, as: UInt32.self).map { Int64($0) }
            case .int64, .uint64: return rawValues(range, as: UInt64.self).map { Int64(bitPattern: $0) }
            default: throw .unsupportedDType(path: path, name: name, dtype: "\(elementType)")
            }
        }
        return try decoded(float: false).integers
    }

    private func rawValues<T: FixedWidthInteger>(_ range: Range<Int>, as: T.Type) -> [T] {
        // The byte count was checked against the shape when the tensor was read.
        let n = range.count / MemoryLayout<T>.size
        let raw = UnsafeRawBufferPointer(rebasing: file.bytes[range])
        return (0..<n).map { T(littleEndian: raw.loadUnaligned(fromByteOffset: $0 * MemoryLayout<T>.size, as: T.self)) }
    }

    private func decoded(float wantFloat: Bool) throws(ModelLoadError) -> (floats: [Float], integers: [Int64]) {
        var floats: [Float] = []
        var integers: [Int64] = []
        do throws(ProtobufError) {
            if case let .typed(fields, encoding) = values {
                for f in fields {
                    switch encoding {
                    case .float32: try ProtobufReader.floats(file.bytes, f, into: &floats)
                    case .float64:
                        var bits: [UInt64] = []
                        try ProtobufReader.appendFixed64(file.bytes, f, to: &bits)
                        floats += bits.map { Float(Double(bitPattern: $0)) }
                    case .varint, .uint64Varint, .halfBits: try ProtobufReader.int64s(file.bytes, f, into: &integers)
                    }
                }
            }
        } catch {
            throw .malformed(path: path, format: "protobuf tensor", reason: "tensor \"\(name)\": \(error.description)")
        }
        if wantFloat, floats.isEmpty, !integers.isEmpty { floats = integers.map { Float($0) } }
        if !wantFloat, integers.isEmpty, !floats.isEmpty {
            throw .unsupportedDType(path: path, name: name, dtype: "\(elementType) stored as floats")
        }
        let n = count
        func fit<T>(_ v: [T], zero: T) throws(ModelLoadError) -> [T] {
            if v.count == n { return v }
            if v.isEmpty { return [T](repeating: zero, count: n) } // a tensor of zeros stores no values
            if splatsLastValue, v.count < n, let last = v.last { return v + [T](repeating: last, count: n - v.count) }
            throw .unexpectedShape(path: path, name: name, expected: "\(v.count) stored values", found: shape)
        }
        return wantFloat ? (try fit(floats, zero: 0), []) : ([], try fit(integers, zero: 0))
    }
}

// MARK: - Reading a TensorProto (shared parts)

extension ProtobufTensor {
    /// Checks a shape read from the file (no negative dims, element count fits) and raw byte
    /// counts against it.
    static func checked(shape: [Int64], name: String) throws(ProtobufError) -> [Int] {
        var count: Int64 = 1
        for d in shape {
            guard d >= 0 else { throw ProtobufError("tensor \"\(name)\" has negative dimension \(d) in \(shape)") }
            let (p, overflow) = count.multipliedReportingOverflow(by: d)
            guard !overflow, p <= Int64(Int32.max) * 4 else { throw ProtobufError("tensor \"\(name)\" shape \(shape) is implausibly large") }
            count = p
        }
        return shape.map { Int($0) }
    }

    static func checkRaw(_ range: Range<Int>, shape: [Int], type: TensorElementType, name: String) throws(ProtobufError) {
        guard let size = type.size else { throw ProtobufError("tensor \"\(name)\" of \(type) has raw bytes, which are not supported") }
        let need = shape.reduce(1, *) * size
        guard range.count == need else {
            throw ProtobufError("tensor \"\(name)\" has \(range.count) raw bytes, shape \(shape) of \(type) needs \(need)")
        }
    }
}
