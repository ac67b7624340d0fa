// What model loaders need of a checkpoint, whatever its format: the shape of a named tensor
// and its values. CTranslate2 `model.bin`, one safetensors file and a sharded safetensors
// checkpoint all answer it, so a model's loader can take either layout.
import Kernels

public protocol TensorFile: Sendable {
    /// The file (or checkpoint directory) named in errors.
    var path: String { get }
    /// The shape of `name`, nil when there is no such tensor.
    func shape(of name: String) -> [Int]?
    /// `name` with its storage kept (fp16 / bf16 as bits), checking the shape when given.
    func weight(_ name: String, shape: [Int]?) throws(ModelLoadError) -> WeightTensor
}

extension TensorFile {
    public func contains(_ name: String) -> Bool { shape(of: name) != nil }

    /// `name` widened to Float32, checking the shape when given.
    public func floats(_ name: String, shape: [Int]? = nil) throws(ModelLoadError) -> [Float] {
        try weight(name, shape: shape).floats()
    }

    /// Builds the WeightTensor for raw little-endian `bytes` of `dtype`, the step every
    /// format shares once it has found a tensor's bytes.
    static func decodeWeight(name: String, path: String, shape: [Int], dtype: WeightElementType,
                             bytes raw: UnsafeRawBufferPointer) throws(ModelLoadError) -> WeightTensor {
        let count = shape.reduce(1, *)
        let storage: WeightTensor.Storage
        switch dtype {
        case .float32: storage = .float32(load(raw, count: count))
        case .float16: storage = .float16(load(raw, count: count))
        case .bfloat16: storage = .bfloat16(load(raw, count: count))
        }
        do {
            return try WeightTensor(shape: shape, storage: storage)
        } catch {
            throw .unexpectedShape(path: path, name: name, expected: "\(count) elements", found: shape)
        }
    }

    private static func load<T>(_ raw: UnsafeRawBufferPointer, count: Int) -> [T] {
        [T](unsafeUninitializedCapacity: count) { buf, n in
            let bytes = count * MemoryLayout<T>.stride
            if count > 0 { UnsafeMutableRawBufferPointer(buf).copyMemory(from: UnsafeRawBufferPointer(rebasing: raw[0..<bytes])) }
            n = count
        }
    }
}
