// A cursor over protobuf wire-format bytes (protobuf.dev/programming-guides/encoding), the
// layer under the ONNX and TensorFlow GraphDef readers. A message is a sequence of fields,
// each a varint key (field number << 3 | wire type) followed by its value:
//   wire 0  varint (int32/int64/uint/bool/enum; negative int32 is sign-extended to 10 bytes)
//   wire 1  8 bytes little-endian (fixed64, double)
//   wire 2  varint length + that many bytes (string, bytes, sub-message, packed repeated)
//   wire 5  4 bytes little-endian (fixed32, float)
// Groups (wire 3/4) are proto2 relics no ONNX or TensorFlow file uses; they are rejected.
// The reader works on the memory-mapped file: length-delimited values come back as byte
// ranges of the file, so tensor payloads are never copied here. Every length is checked
// against the enclosing message before it is used and nesting is limited, so a corrupt or
// hostile file ends in a `ProtobufError`, never a trap or a runaway recursion.

/// What went wrong, and where: `path` is the field path from the root message
/// ("graph.node[12].attribute[0]"), filled in as the error travels up.
struct ProtobufError: Error {
    var path: [String] = []
    var reason: String

    init(_ reason: String) { self.reason = reason }

    var description: String { path.isEmpty ? reason : "\(path.joined(separator: ".")): \(reason)" }
}

enum WireType: UInt8 {
    case varint = 0, fixed64 = 1, lengthDelimited = 2, fixed32 = 5

    var name: String {
        switch self {
        case .varint: "varint"
        case .fixed64: "fixed64"
        case .lengthDelimited: "length-delimited"
        case .fixed32: "fixed32"
        }
    }
}

/// One field as found in the bytes: its wire type and, for wire 2, the payload's byte range
/// (absolute offsets into the file); for the scalar wire types the range of the value bytes.
struct ProtobufField {
    var number: Int
    var wire: WireType
    var range: Range<Int>
    /// The value of a varint field (0 for the other wire types).
    var varint: UInt64
}

/// Runs `body`, prefixing `label` to the path of any error it throws.
@inline(__always)
func protobufContext<T>(_ label: @autoclosure () -> String, _ body: () throws(ProtobufError) -> T) throws(ProtobufError) -> T {
    do {
        return try body()
    } catch {
        var e = error
        e.path.insert(label(), at: 0)
        throw e
    }
}

struct ProtobufReader {
    /// The whole file; ranges are absolute offsets into it.
    let bytes: UnsafeRawBufferPointer
    private(set) var offset: Int
    let end: Int
    let depth: Int

    /// Sub-message nesting above this is taken as corruption. ONNX and GraphDef schemas nest
    /// fewer than 10 levels in the parts these readers decode.
    static let maxDepth = 32

    init(bytes: UnsafeRawBufferPointer, range: Range<Int>? = nil, depth: Int = 0) {
        self.bytes = bytes
        let r = range ?? 0..<bytes.count
        offset = r.lowerBound
        end = r.upperBound
        self.depth = depth
    }

    var isAtEnd: Bool { offset >= end }

    /// A reader over the sub-message `field` (a wire-2 field).
    func message(_ field: ProtobufField) throws(ProtobufError) -> ProtobufReader {
        guard field.wire == .lengthDelimited else {
            throw ProtobufError("field \(field.number) is \(field.wire.name), expected a sub-message")
        }
        guard depth + 1 <= Self.maxDepth else { throw ProtobufError("messages nest deeper than \(Self.maxDepth) levels") }
        return ProtobufReader(bytes: bytes, range: field.range, depth: depth + 1)
    }

    /// The next field, or nil at the end of the message.
    mutating func next() throws(ProtobufError) -> ProtobufField? {
        guard offset < end else { return nil }
        let start = offset
        let key = try readVarint()
        let number = key >> 3
        guard number >= 1, number <= 0x1FFF_FFFF else {
            throw ProtobufError("byte \(start): field number \(number) is not valid (not a protobuf message?)")
        }
        guard let wire = WireType(rawValue: UInt8(key & 7)) else {
            throw ProtobufError("byte \(start): field \(number) has wire type \(key & 7), which ONNX and GraphDef never use (not a protobuf message?)")
        }
        let valueStart = offset
        switch wire {
        case .varint:
            let v = try readVarint()
            return ProtobufField(number: Int(number), wire: wire, range: valueStart..<offset, varint: v)
        case .fixed64:
            try skip(8, field: Int(number))
            return ProtobufField(number: Int(number), wire: wire, range: valueStart..<offset, varint: 0)
        case .fixed32:
            try skip(4, field: Int(number))
            return ProtobufField(number: Int(number), wire: wire, range: valueStart..<offset, varint: 0)
        case .lengthDelimited:
            let length = try readVarint()
            guard length <= UInt64(end - offset) else {
                throw ProtobufError("byte \(start): field \(number) claims \(length) bytes but only \(end - offset) remain in its message (truncated file?)")
            }
            let payload = offset..<(offset + Int(length))
            offset = payload.upperBound
            return ProtobufField(number: Int(number), wire: wire, range: payload, varint: 0)
        }
    }

    private mutating func skip(_ n: Int, field: Int) throws(ProtobufError) {
        guard end - offset >= n else {
            throw ProtobufError("byte \(offset): field \(field) needs \(n) bytes but only \(end - offset) remain (truncated file?)")
        }
        offset += n
    }

    private mutating func readVarint() throws(ProtobufError) -> UInt64 {
        var result: UInt64 = 0
        var shift: UInt64 = 0
        let start = offset
        while true {
            guard offset < end else { throw ProtobufError("byte \(start): varint runs past the end of its message (truncated file?)") }
            let b = bytes[offset]
            offset += 1
            guard shift < 64 else { throw ProtobufError("byte \(start): varint longer than 10 bytes") }
            result |= UInt64(b & 0x7F) << shift
            if b & 0x80 == 0 { return result }
            shift += 7
        }
    }

    // MARK: - Typed values of one field

    static func string(_ bytes: UnsafeRawBufferPointer, _ field: ProtobufField) throws(ProtobufError) -> String {
        guard field.wire == .lengthDelimited else {
            throw ProtobufError("field \(field.number) is \(field.wire.name), expected a string")
        }
        return String(decoding: UnsafeRawBufferPointer(rebasing: bytes[field.range]), as: UTF8.self)
    }

    static func int64(_ field: ProtobufField) throws(ProtobufError) -> Int64 {
        guard field.wire == .varint else { throw ProtobufError("field \(field.number) is \(field.wire.name), expected a varint") }
        return Int64(bitPattern: field.varint)
    }

    /// A varint that must fit an `Int` range the caller states (dims, enums, counts).
    static func int(_ field: ProtobufField, in valid: ClosedRange<Int64> = Int64(Int32.min)...Int64(Int32.max)) throws(ProtobufError) -> Int {
        let v = try int64(field)
        guard valid.contains(v) else { throw ProtobufError("field \(field.number) = \(v) is outside \(valid)") }
        return Int(v)
    }

    static func float(_ bytes: UnsafeRawBufferPointer, _ field: ProtobufField) throws(ProtobufError) -> Float {
        guard field.wire == .fixed32 else { throw ProtobufError("field \(field.number) is \(field.wire.name), expected a float") }
        return Float(bitPattern: UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: field.range.lowerBound, as: UInt32.self)))
    }

    // MARK: - Repeated scalars, packed (one wire-2 field) or not (one field per value)

    /// Appends the varints of a repeated varint field occurrence.
    static func appendVarints(_ bytes: UnsafeRawBufferPointer, _ field: ProtobufField, to out: inout [UInt64]) throws(ProtobufError) {
        switch field.wire {
        case .varint: out.append(field.varint)
        case .lengthDelimited:
            var r = ProtobufReader(bytes: bytes, range: field.range)
            while !r.isAtEnd { out.append(try r.readVarint()) }
        default: throw ProtobufError("field \(field.number) is \(field.wire.name), expected varints")
        }
    }

    /// Appends the 4-byte values of a repeated fixed32/float field occurrence.
    static func appendFixed32(_ bytes: UnsafeRawBufferPointer, _ field: ProtobufField, to out: inout [UInt32]) throws(ProtobufError) {
        try appendFixed(bytes, field, wire: .fixed32, to: &out)
    }

    /// Appends the 8-byte values of a repeated fixed64/double field occurrence.
    static func appendFixed64(_ bytes: UnsafeRawBufferPointer, _ field: ProtobufField, to out: inout [UInt64]) throws(ProtobufError) {
        try appendFixed(bytes, field, wire: .fixed64, to: &out)
    }

    /// Appends the little-endian values of a fixed-width field occurrence: one value (`wire`)
    /// or a packed run (length-delimited) whose length must be a whole number of values.
    private static func appendFixed<T: FixedWidthInteger>(_ bytes: UnsafeRawBufferPointer, _ field: ProtobufField, wire: WireType,
                                                           to out: inout [T]) throws(ProtobufError) {
        let size = MemoryLayout<T>.size
        guard field.wire == wire || field.wire == .lengthDelimited else {
            throw ProtobufError("field \(field.number) is \(field.wire.name), expected \(size)-byte values")
        }
        guard field.range.count % size == 0 else {
            throw ProtobufError("field \(field.number): packed \(size)-byte values in \(field.range.count) bytes")
        }
        var i = field.range.lowerBound
        while i < field.range.upperBound {
            out.append(T(littleEndian: bytes.loadUnaligned(fromByteOffset: i, as: T.self)))
            i += size
        }
    }

    static func floats(_ bytes: UnsafeRawBufferPointer, _ field: ProtobufField, into out: inout [Float]) throws(ProtobufError) {
        var bits: [UInt32] = []
        try appendFixed32(bytes, field, to: &bits)
        out += bits.map(Float.init(bitPattern:))
    }

    static func int64s(_ bytes: UnsafeRawBufferPointer, _ field: ProtobufField, into out: inout [Int64]) throws(ProtobufError) {
        var v: [UInt64] = []
        try appendVarints(bytes, field, to: &v)
        out += v.map { Int64(bitPattern: $0) }
    }
}
