// 3×3 convolution, stride 1, padding 1, ungrouped, on channels-first planes, by Winograd's
// F(2×2, 3×3) (CKernels/winograd.c): 4 products per output pixel and input channel instead
// of 9. The weights are transformed once at construction; a call splits the rows of 2×2
// output tiles over the pool, each thread with its own scratch
// (its thread-local scratch buffer, kept between calls). Results differ from the
// direct sum by rounding only (a few units in the last place of the larger terms).
import CKernels
import Foundation

public struct Winograd3x3Conv: Sendable {
    public let inChannels: Int
    public let outChannels: Int
    public let activation: PointwiseConv.Activation
    /// U: (16, inChannels, outChannels), G g Gᵀ of each 3×3 filter.
    private let transformed: [Float]
    /// (outChannels) or nil.
    private let bias: [Float]?

    /// `weight` (outChannels, inChannels, 3, 3), `bias` (outChannels) or nil; `activation` is
    /// applied after the bias.
    public init(weight: [Float], bias: [Float]?, inChannels: Int, outChannels: Int,
                activation: PointwiseConv.Activation = .none) throws {
        guard inChannels > 0, outChannels > 0 else {
            throw KernelError.invalidArgument(what: "Winograd3x3Conv", reason: "channels must be positive, got \(inChannels) -> \(outChannels)")
        }
        guard weight.count == outChannels * inChannels * 9 else {
            throw KernelError.invalidArgument(what: "Winograd3x3Conv",
                                              reason: "weight has \(weight.count) values, want \(outChannels)×\(inChannels)×3×3")
        }
        if let bias, bias.count != outChannels {
            throw KernelError.invalidArgument(what: "Winograd3x3Conv", reason: "bias has \(bias.count) values, want \(outChannels)")
        }
        self.inChannels = inChannels
        self.outChannels = outChannels
        self.activation = activation
        self.bias = bias
        var u = [Float](repeating: 0, count: 16 * outChannels * inChannels)
        weight.withUnsafeBufferPointer { w in
            u.withUnsafeMutableBufferPointer { sl_winograd3x3_weights(w.baseAddress!, Int32(outChannels), Int32(inChannels), $0.baseAddress!) }
        }
        transformed = u
    }

    /// x (inChannels, height, width) -> y (outChannels, height, width).
    public func forward(_ x: UnsafePointer<Float>, height: Int, width: Int, into y: UnsafeMutablePointer<Float>,
                        pool: ThreadPool = .shared) throws {
        guard height > 0, width > 0 else {
            throw KernelError.invalidArgument(what: "Winograd3x3Conv.forward", reason: "empty \(height)×\(width) input")
        }
        let tileRows = (height + 1) / 2
        let scratchFloats = sl_winograd3x3_scratch_floats(Int32(inChannels), Int32(outChannels), Int32(width))
        let isa = Int32(KernelConfig.isa.rawValue)
        let act = activation.rawValue
        transformed.withUnsafeBufferPointer { u in
            bias.withUnsafeBufferPointerOrNil { b in
                pool.parallelFor(tileRows) { rows in
                    // Thread-local slot 3, as the other convolutions' scratch (slot 0 is the GEMM's).
                    guard let scratch = sl_thread_scratch(3, scratchFloats) else {
                        preconditionFailure("Winograd3x3Conv: out of memory for \(scratchFloats) floats of scratch")
                    }
                    sl_winograd3x3_rows(isa, x, Int32(inChannels), Int32(height), Int32(width), u.baseAddress!, Int32(outChannels), b, act,
                                        y, Int32(rows.lowerBound), Int32(rows.upperBound), scratch)
                }
            }
        }
    }
}

extension Optional where Wrapped == [Float] {
    /// `body` with the array's storage, or nil when there is none.
    fileprivate func withUnsafeBufferPointerOrNil<R>(_ body: (UnsafePointer<Float>?) -> R) -> R {
        switch self {
        case let .some(a): return a.withUnsafeBufferPointer { body($0.baseAddress) }
        case .none: return body(nil)
        }
    }
}
