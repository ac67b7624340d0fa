// Reader for CTranslate2's `model.bin` (format version 6), the format of the Whisper
// checkpoints the default model packages ship. Layout, all little-endian:
//   u32 version (6)
//   u16 length + NUL-terminated string: the model spec name ("WhisperSpec")
//   u32 spec revision
//   u32 variable count, then per variable:
//     u16 length + NUL-terminated name ("encoder/layer_0/self_attention/linear_0/weight")
//     u8  rank, rank × u32 dims
//     u8  dtype (0 f32, 1 i8, 2 i16, 3 i32, 4 f16, 5 bf16)
//     u32 byte count, raw row-major data
//   u32 alias count, then pairs of strings (alias, target), e.g. the tied output projection
//   "decoder/projection/weight" -> "decoder/embeddings/weight".
// The file is memory-mapped and variables are views into it; every size is checked against
// the file before it is read.
import Kernels

public final class CTranslate2ModelFile: TensorFile, @unchecked Sendable { // immutable after init
    public enum DType: UInt8, Sendable {
        case float32 = 0, int8 = 1, int16 = 2, int32 = 3, float16 = 4, bfloat16 = 5

        /// The weight storage this dtype maps to; nil for the integer types.
        var weightType: WeightElementType? {
            switch self {
            case .float32: return .float32
            case .float16: return .float16
            case .bfloat16: return .bfloat16
            case .int8, .int16, .int32: return nil
            }
        }

        var size: Int {
            switch self {
            case .int8: return 1
            case .int16, .float16, .bfloat16: return 2
            case .float32, .int32: return 4
            }
        }
    }

    public struct Variable: Sendable {
        public let name: String
        public let shape: [Int]
        public let dtype: DType
        /// Byte range of the raw data inside the file.
        public let range: Range<Int>
        public var count: Int { shape.reduce(1, *) }
    }

    public let path: String
    public let version: Int
    public let specName: String
    public let specRevision: Int
    public private(set) var variables: [String: Variable] = [:]
    /// Variable names in file order.
    public private(set) var names: [String] = []
    private let file: MappedFile

    public static let supportedVersion = 6
    static let format = "CTranslate2 model.bin"

    public init(path: String) throws(ModelLoadError) {
        self.path = path
        file = try MappedFile(path: path)
        var r = Reader(bytes: file.bytes, path: path)
        version = Int(try r.u32())
        guard version == Self.supportedVersion else { throw .unsupportedVersion(path: path, version: version) }
        specName = try r.string()
        specRevision = Int(try r.u32())
        let n = Int(try r.u32())
        for _ in 0..<n {
            let name = try r.string()
            let rank = Int(try r.u8())
            var shape: [Int] = []
            for _ in 0..<rank { shape.append(Int(try r.u32())) }
            let code = try r.u8()
            guard let dtype = DType(rawValue: code) else { throw .unsupportedDType(path: path, name: name, dtype: "code \(code)") }
            let bytes = Int(try r.u32())
            let expected = shape.reduce(1, *) * dtype.size
            guard bytes == expected else {
                throw .malformed(path: path, format: Self.format, reason: "at byte \(r.offset): variable \(name) shape \(shape) needs \(expected) bytes, header says \(bytes)")
            }
            let start = r.offset
            try r.skip(bytes)
            variables[name] = Variable(name: name, shape: shape, dtype: dtype, range: start..<(start + bytes))
            names.append(name)
        }
        if r.offset < file.count {
            let aliases = Int(try r.u32())
            for _ in 0..<aliases {
                let alias = try r.string()
                let target = try r.string()
                guard let v = variables[target] else {
                    throw .malformed(path: path, format: Self.format, reason: "at byte \(r.offset): alias \(alias) points at unknown variable \(target)")
                }
                variables[alias] = v
            }
        }
    }

    public func variable(_ name: String) throws(ModelLoadError) -> Variable {
        guard let v = variables[name] else { throw .missingTensor(path: path, name: name) }
        return v
    }

    public func shape(of name: String) -> [Int]? { variables[name]?.shape }

    /// A float variable as a WeightTensor (fp16 / bf16 kept as bits), optionally checking its shape.
    public func weight(_ name: String, shape expected: [Int]? = nil) throws(ModelLoadError) -> WeightTensor {
        let v = try variable(name)
        if let expected, expected != v.shape {
            throw .unexpectedShape(path: path, name: name, expected: "\(expected)", found: v.shape)
        }
        guard let type = v.dtype.weightType else { throw .unsupportedDType(path: path, name: name, dtype: "\(v.dtype)") }
        defer { file.release(v.range) } // copied out: drop the file pages from the resident set
        return try Self.decodeWeight(name: name, path: path, shape: v.shape, dtype: type, bytes: UnsafeRawBufferPointer(rebasing: file.bytes[v.range]))
    }

    /// An integer scalar (the spec's configuration values such as "encoder/num_heads").
    public func integer(_ name: String) throws(ModelLoadError) -> Int {
        let v = try variable(name)
        guard v.count == 1 else { throw .unexpectedShape(path: path, name: name, expected: "a scalar", found: v.shape) }
        let raw = UnsafeRawBufferPointer(rebasing: file.bytes[v.range])
        switch v.dtype {
        case .int8: return Int(raw.loadUnaligned(as: Int8.self))
        case .int16: return Int(Int16(littleEndian: raw.loadUnaligned(as: Int16.self)))
        case .int32: return Int(Int32(littleEndian: raw.loadUnaligned(as: Int32.self)))
        default: throw .unsupportedDType(path: path, name: name, dtype: "\(v.dtype)")
        }
    }

    /// Bounds-checked little-endian cursor over the mapped bytes.
    private struct Reader {
        let bytes: UnsafeRawBufferPointer
        let path: String
        var offset = 0

        mutating func need(_ n: Int) throws(ModelLoadError) {
            guard n >= 0, offset + n <= bytes.count else {
                throw .malformed(path: path, format: CTranslate2ModelFile.format, reason: "at byte \(offset): needs \(n) more bytes but the file ends at \(bytes.count) (truncated?)")
            }
        }
        mutating func u8() throws(ModelLoadError) -> UInt8 { try need(1); defer { offset += 1 }; return bytes[offset] }
        mutating func u16() throws(ModelLoadError) -> UInt16 {
            try need(2); defer { offset += 2 }
            return UInt16(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: UInt16.self))
        }
        mutating func u32() throws(ModelLoadError) -> UInt32 {
            try need(4); defer { offset += 4 }
            return UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: UInt32.self))
        }
        mutating func skip(_ n: Int) throws(ModelLoadError) { try need(n); offset += n }
        /// u16 length including a trailing NUL.
        mutating func string() throws(ModelLoadError) -> String {
            let n = Int(try u16())
            try need(n)
            defer { offset += n }
            let body = UnsafeRawBufferPointer(rebasing: bytes[offset..<(offset + max(n - 1, 0))])
            return String(decoding: body, as: UTF8.self)
        }
    }
}
