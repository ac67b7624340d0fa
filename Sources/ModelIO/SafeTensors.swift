// Minimal reader for the safetensors format (huggingface/safetensors):
//   bytes 0..<8      header length N, unsigned 64-bit little-endian
//   bytes 8..<8+N    UTF-8 JSON: { "<tensor name>": {"dtype": "F32", "shape": [d0, d1, ...],
//                    "data_offsets": [begin, end]}, ..., optional "__metadata__": {str: str} }
//   bytes 8+N...     raw tensor data, little-endian, row-major; offsets are relative to here
// The file is memory-mapped; tensors are converted to [Float] on request (F32, F16, BF16).
// Every offset and size is checked against the file before it is read.
import Foundation

public struct SafeTensorsFile: @unchecked Sendable {  // Data is immutable here
    public struct TensorInfo: Sendable, Hashable {
        public var dtype: String
        public var shape: [Int]
        /// Byte range inside the data section.
        public var dataRange: Range<Int>
    }

    public let path: String
    public let tensors: [String: TensorInfo]
    public let metadata: [String: String]
    private let data: Data
    private let dataStart: Int

    /// Header sizes above this are taken as corruption rather than allocated.
    private static let maxHeaderBytes: UInt64 = 100 << 20

    public init(path: String) throws(ModelIOError) {
        self.path = path
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path), options: .alwaysMapped)
        } catch {
            throw .cannotRead(path: path, reason: (error as NSError).localizedDescription)
        }
        guard data.count >= 8 else {
            throw .malformed(path: path, reason: "file is \(data.count) bytes, shorter than the 8-byte header length")
        }
        let headerLength = data.prefix(8).enumerated().reduce(UInt64(0)) { $0 | UInt64($1.element) << (8 * UInt64($1.offset)) }
        guard headerLength <= Self.maxHeaderBytes, headerLength <= UInt64(data.count - 8) else {
            throw .malformed(path: path, reason: "header length \(headerLength) does not fit in a \(data.count)-byte file")
        }
        let start = 8 + Int(headerLength)
        let json: Any
        do {
            json = try JSONSerialization.jsonObject(with: data.subdata(in: 8..<start))
        } catch {
            throw .malformed(path: path, reason: "header is not JSON (\((error as NSError).localizedDescription))")
        }
        guard let header = json as? [String: Any] else {
            throw .malformed(path: path, reason: "header is not a JSON object")
        }
        let dataSize = data.count - start
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
            else { throw .malformed(path: path, reason: "entry for \"\(name)\" lacks dtype, shape or data_offsets") }
            guard shape.allSatisfy({ $0 >= 0 }), offsets[0] >= 0, offsets[0] <= offsets[1], offsets[1] <= dataSize else {
                throw .malformed(path: path, reason: "tensor \"\(name)\" has offsets \(offsets) outside the \(dataSize)-byte data section")
            }
            if let size = Self.elementSize(dtype) {
                let elements = shape.reduce(1, *)
                guard offsets[1] - offsets[0] == elements * size else {
                    throw .malformed(path: path, reason: "tensor \"\(name)\" has \(offsets[1] - offsets[0]) bytes for shape \(shape) of \(dtype)")
                }
            }
            tensors[name] = TensorInfo(dtype: dtype, shape: shape, dataRange: offsets[0]..<offsets[1])
        }
        self.tensors = tensors
        self.metadata = metadata
        self.data = data
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

    /// The tensor `name` as Float, checking that its shape is `shape`.
    public func floats(_ name: String, shape expected: [Int]) throws(ModelIOError) -> [Float] {
        guard let info = tensors[name] else { throw .missingTensor(path: path, name: name) }
        guard info.shape == expected else {
            throw .shapeMismatch(path: path, name: name, expected: expected, found: info.shape)
        }
        let count = expected.reduce(1, *)
        let bytes = data[(dataStart + info.dataRange.lowerBound)..<(dataStart + info.dataRange.upperBound)]
        var out = [Float](repeating: 0, count: count)
        switch info.dtype {
        case "F32":
            out.withUnsafeMutableBytes { dst in _ = bytes.copyBytes(to: dst) }
            #if _endian(big)
            for i in 0..<count { out[i] = Float(bitPattern: out[i].bitPattern.byteSwapped) }
            #endif
        case "F16", "BF16":
            let isBF16 = info.dtype == "BF16"
            bytes.withUnsafeBytes { raw in
                for i in 0..<count {
                    let bits = UInt16(raw[2 * i]) | UInt16(raw[2 * i + 1]) << 8
                    out[i] = isBF16 ? Float(bitPattern: UInt32(bits) << 16) : Float(Float16Bits(bits))
                }
            }
        default:
            throw .unsupportedDType(path: path, name: name, dtype: info.dtype)
        }
        return out
    }
}

/// IEEE half → Float without relying on the Float16 type (absent on some x86 toolchains).
@inline(__always)
func Float16Bits(_ h: UInt16) -> Float {
    let sign = UInt32(h & 0x8000) << 16
    let exponent = Int((h >> 10) & 0x1F)
    let mantissa = UInt32(h & 0x3FF)
    if exponent == 0 {
        // Zero or subnormal: mantissa × 2^-24.
        let value = Float(mantissa) * 0x1p-24
        return sign == 0 ? value : -value
    }
    if exponent == 31 { return Float(bitPattern: sign | 0x7F80_0000 | mantissa << 13) }
    return Float(bitPattern: sign | UInt32(exponent - 15 + 127) << 23 | mantissa << 13)
}
