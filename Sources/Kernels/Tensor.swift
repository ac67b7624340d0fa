// Tensor: a shape plus contiguous row-major Float32 storage (strides follow from the shape),
// the currency between model code and kernels. Weights may instead arrive as fp16 / bf16
// bit patterns (WeightTensor) and are converted or packed once at load time.
public struct Tensor: Sendable, Equatable {
    public private(set) var shape: [Int]
    /// Row-major elements, `shape.reduce(1, *)` of them.
    public var data: [Float]

    /// A tensor from a shape and its row-major elements.
    public init(shape: [Int], data: [Float]) throws {
        guard shape.allSatisfy({ $0 >= 0 }) else {
            throw KernelError.invalidArgument(what: "Tensor(shape: \(shape))", reason: "dimensions must be >= 0")
        }
        let count = shape.reduce(1, *)
        guard count == data.count else {
            throw KernelError.shapeMismatch(what: "Tensor", shape: shape, expectedCount: count, actualCount: data.count)
        }
        self.shape = shape
        self.data = data
    }

    /// A zero-filled tensor (negative dimensions are treated as 0).
    public init(zeros shape: [Int]) {
        self.shape = shape.map { max($0, 0) }
        data = [Float](repeating: 0, count: self.shape.reduce(1, *))
    }

    public var count: Int { data.count }
    public var rank: Int { shape.count }

    /// Row-major strides in elements.
    public var strides: [Int] {
        var s = [Int](repeating: 1, count: shape.count)
        var acc = 1
        for i in stride(from: shape.count - 1, through: 0, by: -1) {
            s[i] = acc
            acc *= shape[i]
        }
        return s
    }

    /// The same elements under another shape with the same element count.
    public func reshaped(_ newShape: [Int]) throws -> Tensor {
        try Tensor(shape: newShape, data: data)
    }

    public subscript(index: [Int]) -> Float {
        get { data[offset(index)] }
        set { data[offset(index)] = newValue }
    }

    private func offset(_ index: [Int]) -> Int {
        precondition(index.count == shape.count, "index rank \(index.count) != tensor rank \(shape.count)")
        var o = 0
        for (i, s) in zip(index, strides) { o += i * s }
        return o
    }

    public func withUnsafeBufferPointer<R>(_ body: (UnsafeBufferPointer<Float>) throws -> R) rethrows -> R {
        try data.withUnsafeBufferPointer(body)
    }

    public mutating func withUnsafeMutableBufferPointer<R>(_ body: (inout UnsafeMutableBufferPointer<Float>) throws -> R) rethrows -> R {
        try data.withUnsafeMutableBufferPointer(body)
    }
}

/// Element types a checkpoint stores weights in.
public enum WeightElementType: String, Sendable {
    case float32, float16, bfloat16
}

/// A weight as stored in the checkpoint: fp32 values or fp16 / bf16 bit patterns.
public struct WeightTensor: Sendable, Equatable {
    public enum Storage: Sendable, Equatable {
        case float32([Float])
        case float16([UInt16])
        case bfloat16([UInt16])
    }

    public let shape: [Int]
    public let storage: Storage

    public init(shape: [Int], storage: Storage) throws {
        let count = shape.reduce(1, *)
        let actual: Int
        switch storage {
        case let .float32(v): actual = v.count
        case let .float16(v): actual = v.count
        case let .bfloat16(v): actual = v.count
        }
        guard shape.allSatisfy({ $0 >= 0 }), count == actual else {
            throw KernelError.shapeMismatch(what: "WeightTensor", shape: shape, expectedCount: count, actualCount: actual)
        }
        self.shape = shape
        self.storage = storage
    }

    public var elementType: WeightElementType {
        switch storage {
        case .float32: return .float32
        case .float16: return .float16
        case .bfloat16: return .bfloat16
        }
    }

    /// The weights widened to Float32 (exact for fp16 and bf16).
    public func floats() -> [Float] {
        switch storage {
        case let .float32(v): return v
        case let .float16(v): return v.map(HalfPrecision.float16ToFloat)
        case let .bfloat16(v): return v.map(HalfPrecision.bfloat16ToFloat)
        }
    }

    /// As a compute tensor.
    public func tensor() -> Tensor {
        // Count checked at init, so this cannot fail.
        (try? Tensor(shape: shape, data: floats())) ?? Tensor(zeros: shape)
    }
}

/// Bit-exact conversions between Float32 and the 16-bit weight formats.
public enum HalfPrecision {
    /// IEEE binary16 bits to Float (exact, incl. subnormals, inf, NaN).
    @inline(__always)
    public static func float16ToFloat(_ h: UInt16) -> Float {
        let sign = UInt32(h & 0x8000) << 16
        let exp = Int((h >> 10) & 0x1f)
        let mant = UInt32(h & 0x3ff)
        if exp == 0 {
            // zero or subnormal: mant * 2^-24
            let v = Float(mant) * Float(bitPattern: 0x3380_0000) // 2^-24
            return sign != 0 ? -v : v
        }
        if exp == 31 { return Float(bitPattern: sign | 0x7f80_0000 | (mant << 13)) }
        return Float(bitPattern: sign | (UInt32(exp + 112) << 23) | (mant << 13))
    }

    /// bf16 bits to Float (exact).
    @inline(__always)
    public static func bfloat16ToFloat(_ b: UInt16) -> Float { Float(bitPattern: UInt32(b) << 16) }

    /// Float to bf16 bits, round to nearest even (NaN stays NaN).
    @inline(__always)
    public static func floatToBFloat16(_ f: Float) -> UInt16 {
        let u = f.bitPattern
        if f.isNaN { return UInt16(truncatingIfNeeded: u >> 16) | 0x40 }
        let rounded = u &+ 0x7fff &+ ((u >> 16) & 1)
        return UInt16(truncatingIfNeeded: rounded >> 16)
    }
}
