// Reader for the safetensors format (huggingface/safetensors):
//   bytes 0..<8      header length N, unsigned 64-bit little-endian
//   bytes 8..<8+N    UTF-8 JSON: { "<tensor name>": {"dtype": "F32", "shape": [d0, d1, ...],
//                    "data_offsets": [begin, end]}, ..., optional "__metadata__": {str: str} }
//   bytes 8+N...     raw tensor data, little-endian, row-major; offsets are relative to here
// The file is memory-mapped; tensors are copied out on request (F32, F16, BF16; F16 / BF16
// keep their bits until a kernel widens them). Every offset and size is checked against the
// file before it is read. Hosts are little-endian (x86-64, arm64), as the format.
import Foundation
import Kernels

public final class SafeTensorsFile: TensorFile, @unchecked Sendable { // immutable after init
    public struct TensorInfo: Sendable, Hashable {
        public var dtype: String
        public var shape: [Int]
        /// Byte range inside the data section.
        public var dataRange: Range<Int>
    }

    public let path: String
    public let tensors: [String: TensorInfo]
    public let metadata: [String: String]
    private let file: MappedFile
    private let dataStart: Int

    static let format = "safetensors"
    /// Header sizes above this are taken as corruption rather than allocated.
    private static let maxHeaderBytes: UInt64 = 100 << 20

    public init(path: String) throws(ModelLoadError) {
        self.path = path
        let file = try MappedFile(path: path)
        func malformed(_ reason: String) -> ModelLoadError { .malformed(path: path, format: Self.format, reason: reason) }
        let bytes = file.bytes
        guard bytes.count >= 8 else { throw malformed("file is \(bytes.count) bytes, shorter than the 8-byte header length") }
        let headerLength = UInt64(littleEndian: bytes.loadUnaligned(as: UInt64.self))
        guard headerLength <= Self.maxHeaderBytes, headerLength <= UInt64(bytes.count - 8) else {
            throw malformed("header length \(headerLength) does not fit in a \(bytes.count)-byte file")
        }
        let start = 8 + Int(headerLength)
        let json: Any
        do {
            json = try JSONSerialization.jsonObject(with: Data(bytes[8..<start]))
        } catch {
            throw malformed("header is not JSON (\((error as NSError).localizedDescription))")
        }
        guard let header = json as? [String: Any] else { throw malformed("header is not a JSON object") }
        let dataSize = bytes.count - start
        var tensors: [String: TensorInfo] = [:]
        var metadata: [String: String] = [:]
        for (name, value) in header {
            if name == "__metadata__" {
                metadata = (value as? [String: String]) ?? [:]
                continue
            }
            guard let entry = value as? [String: Any], let dtype = entry["dtype"] as? String,
                let shape = (entry["shape"] as? [NSNumber])?.map(\.intValue),
                let offsets = (entry["data_offsets"] as? [NSNumber])?.map(\.intValue), offsets.count == 2
            else { throw malformed("entry for \"\(name)\" lacks dtype, shape or data_offsets") }
            guard shape.allSatisfy({ $0 >= 0 }), offsets[0] >= 0, offsets[0] <= offsets[1], offsets[1] <= dataSize else {
                throw malformed("tensor \"\(name)\" has offsets \(offsets) outside the \(dataSize)-byte data section")
            }
            if let size = Self.elementSize(dtype) {
                let elements = shape.reduce(1, *)
                guard offsets[1] - offsets[0] == elements * size else {
                    throw malformed("tensor \"\(name)\" has \(offsets[1] - offsets[0]) bytes for shape \(shape) of \(dtype)")
                }
            }
            tensors[name] = TensorInfo(dtype: dtype, shape: shape, dataRange: offsets[0]..<offsets[1])
        }
        self.tensors = tensors
        self.metadata = metadata
        self.file = file
        self.dataStart = start
    }

    static func elementSize(_ dtype: String) -> Int? {
        switch dtype {
        case "F64", "I64", "U64": 8
        case "F32", "I32", "U32": 4
        case "F16", "BF16", "I16", "U16": 2
        case "I8", "U8", "BOOL": 1
        default: nil
        }
    }

    public func shape(of name: String) -> [Int]? { tensors[name]?.shape }

    /// The tensor `name` with its storage kept, checking its shape when given.
    public func weight(_ name: String, shape expected: [Int]? = nil) throws(ModelLoadError) -> WeightTensor {
        guard let info = tensors[name] else { throw .missingTensor(path: path, name: name) }
        if let expected, info.shape != expected {
            throw .unexpectedShape(path: path, name: name, expected: "\(expected)", found: info.shape)
        }
        let type: WeightElementType
        switch info.dtype {
        case "F32": type = .float32
        case "F16": type = .float16
        case "BF16": type = .bfloat16
        default: throw .unsupportedDType(path: path, name: name, dtype: info.dtype)
        }
        let range = (dataStart + info.dataRange.lowerBound)..<(dataStart + info.dataRange.upperBound)
        defer { file.release(range) } // copied out: drop the file pages from the resident set
        return try Self.decodeWeight(name: name, path: path, shape: info.shape, dtype: type,
                                     bytes: UnsafeRawBufferPointer(rebasing: file.bytes[range]))
    }
}
