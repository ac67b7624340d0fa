// A 1×1 convolution (stride 1, no padding, one group) with its weights packed once at load
// and the bias, activation and residual applied while each output tile is in registers:
//   y = act(x · Wᵀ + bias) + residual
// over `pixels` positions, channels-last (x (pixels, in), y (pixels, out): MobileNetV2,
// SSDLite) or channels-first (x (in, pixels), y (out, pixels): the NCHW ONNX graphs). The
// activations are read in place. The optimised path is CKernels' pointwise kernel (AVX-512,
// AVX2+FMA or portable, by the KernelConfig.isa current at init); `forwardReference` is the
// plain loop over the same packed weights.
import CKernels
import Synchronization

public final class PointwiseConv: @unchecked Sendable { // immutable after init
    public enum Layout: Sendable {
        /// x (pixels, in) -> y (pixels, out)
        case channelsLast
        /// x (in, pixels) -> y (out, pixels)
        case channelsFirst
    }

    /// Applied after the bias, before the residual is added.
    public enum Activation: Int32, Sendable {
        case none = 0 // SL_PWC_NONE
        case relu = 1 // SL_PWC_RELU
        case relu6 = 2 // SL_PWC_RELU6
        case hardSwish = 3 // SL_PWC_HARDSWISH: x · min(max(x + 3, 0), 6) / 6
    }

    public let inChannels: Int
    public let outChannels: Int
    public let layout: Layout
    public let activation: Activation
    private let isa: KernelConfig.ISA
    private let width: Int // panel width of the packing: 2 or 3 vectors (channels-last) or MR (channels-first)
    private let packed: UnsafeMutablePointer<Float> // (panels, in, width), zero-padded
    private let bias: UnsafeMutablePointer<Float>? // (out)

    /// weight (out, in) row-major, bias (out) or nil.
    public init(weight: [Float], outChannels: Int, inChannels: Int, bias: [Float]? = nil, layout: Layout,
                activation: Activation = .none) throws {
        guard outChannels > 0, inChannels > 0, outChannels <= Int(Int32.max), inChannels <= Int(Int32.max) else {
            throw KernelError.invalidArgument(what: "PointwiseConv", reason: "channels \(inChannels) -> \(outChannels) must be positive")
        }
        guard weight.count == outChannels * inChannels else {
            throw KernelError.shapeMismatch(what: "PointwiseConv weight", shape: [outChannels, inChannels],
                                            expectedCount: outChannels * inChannels, actualCount: weight.count)
        }
        if let bias, bias.count != outChannels {
            throw KernelError.shapeMismatch(what: "PointwiseConv bias", shape: [outChannels], expectedCount: outChannels,
                                            actualCount: bias.count)
        }
        self.inChannels = inChannels
        self.outChannels = outChannels
        self.layout = layout
        self.activation = activation
        let cLayout = layout == .channelsFirst ? Int32(SL_PWC_CHANNELS_FIRST) : Int32(SL_PWC_CHANNELS_LAST)
        isa = KernelConfig.ISA(rawValue: Int(sl_pointwise_layer_isa(Int32(KernelConfig.isa.rawValue), cLayout,
                                                                     Int32(outChannels)))) ?? KernelConfig.isa
        width = Int(sl_pointwise_panel_width(Int32(isa.rawValue), cLayout, Int32(outChannels)))
        let floats = sl_pointwise_packed_floats(Int32(isa.rawValue), cLayout, Int32(inChannels), Int32(outChannels))
        let panels = UnsafeMutablePointer<Float>.allocate(capacity: floats)
        let isaRaw = Int32(isa.rawValue)
        weight.withUnsafeBufferPointer { w in
            sl_pointwise_pack(isaRaw, cLayout, Int32(inChannels), Int32(outChannels), w.baseAddress!, panels)
        }
        packed = panels
        if let bias {
            let b = UnsafeMutablePointer<Float>.allocate(capacity: outChannels)
            b.initialize(from: bias, count: outChannels)
            self.bias = b
        } else {
            self.bias = nil
        }
    }

    deinit {
        packed.deallocate()
        bias?.deallocate()
    }

    /// y = act(x · Wᵀ + bias) + residual over `pixels` positions in the layer's layout.
    /// `residual` has y's shape; y must not overlap x (it may be residual itself).
    public func forward(_ x: UnsafePointer<Float>, pixels: Int, into y: UnsafeMutablePointer<Float>,
                        residual: UnsafePointer<Float>? = nil, pool: ThreadPool = .shared) throws {
        try forward(x, rows: nil, pixels: pixels, into: y, residual: residual, pool: pool)
    }

    /// Channels-first with input row r (of inChannels) at `rows[r]`, `pixels` floats each
    /// (they may overlap: shifted views of one padded image).
    func forward(rows: UnsafePointer<UnsafePointer<Float>?>, pixels: Int, into y: UnsafeMutablePointer<Float>,
                 pool: ThreadPool) throws {
        precondition(layout == .channelsFirst, "row tables are for channels-first layers")
        guard let first = rows[0] else { return }
        try forward(first, rows: rows, pixels: pixels, into: y, residual: nil, pool: pool)
    }

    private func forward(_ x: UnsafePointer<Float>, rows: UnsafePointer<UnsafePointer<Float>?>?, pixels: Int,
                         into y: UnsafeMutablePointer<Float>, residual: UnsafePointer<Float>?, pool: ThreadPool) throws {
        guard pixels > 0 else { return }
        guard pixels <= Int(Int32.max) else {
            throw KernelError.invalidArgument(what: "PointwiseConv", reason: "\(pixels) pixels is more than the kernel indexes")
        }
        if KernelConfig.forceReference {
            if let rows {
                forwardReference(rows: rows, pixels: pixels, into: y)
            } else {
                forwardReference(x, pixels: pixels, into: y, residual: residual)
            }
            return
        }
        var args = arguments(x, pixels: pixels, into: y, residual: residual)
        args.rows = rows
        // Split the pixels over the pool in whole tiles (MR rows, or NR columns channels-first),
        // one chunk per thread once there is enough work to pay for waking one.
        let tile = Int(sl_pointwise_pixel_tile(args.isa, args.layout, args.n))
        let tiles = (pixels + tile - 1) / tile
        let work = inChannels * outChannels * tile // multiply-adds per tile
        let failed = Atomic<Bool>(false)
        withUnsafePointer(to: args) { p in
            if pool.threadCount == 1 || tiles * work < Self.serialWork {
                if sl_pointwise_conv(p, 0, Int32(pixels)) != 0 { failed.store(true, ordering: .relaxed) }
            } else {
                pool.parallelFor(tiles, minChunk: max(1, Self.serialWork / max(work, 1))) { range in
                    let lo = range.lowerBound * tile, hi = min(pixels, range.upperBound * tile)
                    if sl_pointwise_conv(p, Int32(lo), Int32(hi)) != 0 { failed.store(true, ordering: .relaxed) }
                }
            }
        }
        if failed.load(ordering: .relaxed) {
            throw KernelError.invalidArgument(what: "PointwiseConv \(inChannels) -> \(outChannels)", reason: "cannot allocate tile scratch")
        }
    }

    /// The optimised kernel over `pixels` positions on the calling thread (no pool): what a
    /// caller that already split the work, such as InvertedResidual's row bands, runs.
    /// Returns false if the kernel's tile scratch could not be allocated.
    func forwardSerial(_ x: UnsafePointer<Float>, pixels: Int, into y: UnsafeMutablePointer<Float>,
                       residual: UnsafePointer<Float>? = nil) -> Bool {
        guard pixels > 0 else { return true }
        let args = arguments(x, pixels: pixels, into: y, residual: residual)
        return withUnsafePointer(to: args) { sl_pointwise_conv($0, 0, Int32(pixels)) == 0 }
    }

    /// The C kernel's arguments for one call over `pixels` positions.
    private func arguments(_ x: UnsafePointer<Float>, pixels: Int, into y: UnsafeMutablePointer<Float>,
                           residual: UnsafePointer<Float>?) -> sl_pointwise_args {
        let first = layout == .channelsFirst
        var args = sl_pointwise_args()
        args.isa = Int32(isa.rawValue)
        args.layout = first ? Int32(SL_PWC_CHANNELS_FIRST) : Int32(SL_PWC_CHANNELS_LAST)
        args.k = Int32(inChannels); args.n = Int32(outChannels)
        args.act = activation.rawValue
        args.x = x; args.ldx = first ? pixels : inChannels
        args.packed = UnsafePointer(packed)
        args.bias = UnsafePointer(bias)
        args.residual = residual; args.ldr = first ? pixels : outChannels
        args.y = y; args.ldy = first ? pixels : outChannels
        return args
    }

    /// Below this many multiply-adds a call runs on the calling thread.
    static let serialWork = 1 << 18

    /// The weight element (o, i) as packed.
    public func weight(out o: Int, in i: Int) -> Float {
        packed[(o / width) * inChannels * width + i * width + o % width]
    }

    /// Plain loops over the packed weights with the same epilogue.
    public func forwardReference(_ x: UnsafePointer<Float>, pixels: Int, into y: UnsafeMutablePointer<Float>,
                                 residual: UnsafePointer<Float>? = nil) {
        let first = layout == .channelsFirst
        reference(pixels: pixels, into: y, residual: residual) { i, p in x[first ? i * pixels + p : p * inChannels + i] }
    }

    /// The plain loops over a row table (channels-first).
    func forwardReference(rows: UnsafePointer<UnsafePointer<Float>?>, pixels: Int, into y: UnsafeMutablePointer<Float>) {
        reference(pixels: pixels, into: y, residual: nil) { i, p in rows[i]![p] }
    }

    private func reference(pixels: Int, into y: UnsafeMutablePointer<Float>, residual: UnsafePointer<Float>?,
                           input: (_ channel: Int, _ pixel: Int) -> Float) {
        let first = layout == .channelsFirst
        for p in 0..<pixels {
            for o in 0..<outChannels {
                var s: Float = bias?[o] ?? 0
                for i in 0..<inChannels { s += input(i, p) * weight(out: o, in: i) }
                switch activation {
                case .none: break
                case .relu: s = max(s, 0)
                case .relu6: s = min(max(s, 0), 6)
                case .hardSwish: s = s * min(max(s + 3, 0), 6) / 6
                }
                let at = first ? o * pixels + p : p * outChannels + o
                y[at] = s + (residual?[at] ?? 0)
            }
        }
    }
}
