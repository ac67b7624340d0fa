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
