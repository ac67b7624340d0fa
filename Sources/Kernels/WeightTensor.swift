// WeightTensor: a checkpoint weight as stored (fp32 values or fp16 / bf16 bit patterns),
// widened or packed once at load (PackedLinear).

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
