// MobileNetV2's inverted residual block on channels-last activations, fused:
//   y = project(relu6(depthwise(relu6(expand(x))))) + x
// expand and project are 1×1 convolutions (PointwiseConv, channels-last, bias and activation
// fused; expand may be absent), depthwise is k×k per channel with bias and ReLU6, and x is
// added back when the block keeps its size (residual). Shapes: x (H, W, in), the expanded
// tensor (H, W, hidden), the depthwise output (OH, OW, hidden), y (OH, OW, out).
//
// Run as three passes, the expanded tensor of an early block (112 × 112 × 96 floats, 4.8 MB)
// leaves L2 between the expansion that writes it and the depthwise that reads it back. Here
// the output rows are computed in bands: the expansion writes only the input rows a band's
// depthwise needs into a ring of rows (rows shared with the previous band stay and are not
// recomputed), the depthwise writes the band's rows, the projection consumes them, and the
// ring plus the band fit in `bandBudget` floats. Threads take contiguous runs of output rows,
// each with its own ring (each recomputes the k − stride rows at its seam). A block whose
// whole expanded tensor fits the budget gains nothing from bands and runs as three pooled
// passes. `forwardReference` is the three reference kernels one after another.
import CKernels
import Synchronization

public final class InvertedResidual: @unchecked Sendable { // immutable after init
    public let expand: PointwiseConv? // (hidden, in), channels-last
    public let project: PointwiseConv // (out, hidden), channels-last
    public let hidden: Int
    public let kernel: Int
    public let stride: Int
    /// The input is added to the projection (stride 1, in == out).
    public let residual: Bool
    private let depthwiseWeight: UnsafeMutablePointer<Float> // (kernel, kernel, hidden)
    private let depthwiseBias: UnsafeMutablePointer<Float> // (hidden)

    /// Floats of ring plus depthwise band one thread keeps (a quarter of a 1 MB L2 leaves room
    /// for the input rows, the output rows and the weights).
    public static let defaultBandBudget = 1 << 16
    /// This block's budget: `defaultBandBudget` unless given at init (tests force small bands).
    public let bandBudget: Int

    /// depthwiseWeight (kernel, kernel, hidden) tap-major, depthwiseBias (hidden); the depthwise
    /// output always goes through ReLU6.
    public init(expand: PointwiseConv?, depthwiseWeight: [Float], depthwiseBias: [Float], kernel: Int, stride: Int,
                project: PointwiseConv, residual: Bool, bandBudget: Int = InvertedResidual.defaultBandBudget) throws {
        let hidden = project.inChannels
        let input = expand?.inChannels ?? hidden
        guard kernel > 0, stride > 0 else {
            throw KernelError.invalidArgument(what: "InvertedResidual", reason: "kernel \(kernel) and stride \(stride) must be positive")
        }
        if let expand {
            guard expand.layout == .channelsLast, expand.outChannels == hidden else {
                throw KernelError.invalidArgument(what: "InvertedResidual", reason: "expansion \(expand.inChannels) -> \(expand.outChannels) does not feed \(hidden) channels-last")
            }
        }
        guard project.layout == .channelsLast else {
            throw KernelError.invalidArgument(what: "InvertedResidual", reason: "projection must be channels-last")
        }
        guard depthwiseWeight.count == kernel * kernel * hidden else {
            throw KernelError.shapeMismatch(what: "InvertedResidual depthwise weight", shape: [kernel, kernel, hidden],
                                            expectedCount: kernel * kernel * hidden, actualCount: depthwiseWeight.count)
        }
        guard depthwiseBias.count == hidden else {
            throw KernelError.shapeMismatch(what: "InvertedResidual depthwise bias", shape: [hidden], expectedCount: hidden,
                                            actualCount: depthwiseBias.count)
        }
        guard !residual || (stride == 1 && input == project.outChannels) else {
            throw KernelError.invalidArgument(what: "InvertedResidual", reason: "a residual needs stride 1 and \(input) == \(project.outChannels) channels")
        }
        self.expand = expand; self.project = project; self.hidden = hidden
        self.kernel = kernel; self.stride = stride; self.residual = residual
        self.bandBudget = max(bandBudget, 1)
        self.depthwiseWeight = .allocate(capacity: depthwiseWeight.count)
        self.depthwiseWeight.initialize(from: depthwiseWeight, count: depthwiseWeight.count)
        self.depthwiseBias = .allocate(capacity: hidden)
        self.depthwiseBias.initialize(from: depthwiseBias, count: hidden)
    }

    deinit {
        depthwiseWeight.deallocate()
        depthwiseBias.deallocate()
    }

    public var inChannels: Int { expand?.inChannels ?? hidden }
    public var outChannels: Int { project.outChannels }

    /// The depthwise shape for an input of height × width with the given zero rows / columns
    /// before the data (channels are the hidden width).
    public func shape(height: Int, width: Int, padTop: Int, padLeft: Int, outHeight: Int, outWidth: Int) -> DepthwiseNHWCShape {
        var s = DepthwiseNHWCShape(channels: hidden, height: height, width: width, kernel: kernel, stride: stride,
                                   padTop: padTop, padLeft: padLeft, outHeight: outHeight, outWidth: outWidth)
        s.kernelH = kernel; s.kernelW = kernel
        return s
    }

    /// Output rows per band for `s` within `bandBudget`, at least one.
    func bandRows(_ s: DepthwiseNHWCShape) -> Int {
        let row = s.width * hidden, outRow = s.outWidth * hidden
        var r = 1
        while r < s.outHeight && ringRows(s, band: r + 1) * (expand == nil ? 0 : row) + (r + 1) * outRow <= bandBudget { r += 1 }
        return r
    }

    private func ringRows(_ s: DepthwiseNHWCShape, band: Int) -> Int { min(s.height, (band - 1) * s.strideH + s.kernelH) }

    /// x (H, W, in) → y (OH, OW, out) for the depthwise shape `s` (its channels the hidden
    /// width). y must not overlap x.
    public func forward(_ x: UnsafePointer<Float>, shape s: DepthwiseNHWCShape, into y: UnsafeMutablePointer<Float>,
                        pool: ThreadPool = .shared) throws {
        try check(s)
        if KernelConfig.forceReference {
            forwardReference(x, shape: s, into: y)
            return
        }
        let band = bandRows(s)
        if band >= s.outHeight {
            try threePasses(x, shape: s, into: y, pool: pool)
            return
        }
        let failed = Atomic<Bool>(false)
        pool.run { thread, threads in
            let lo = s.outHeight * thread / threads, hi = s.outHeight * (thread + 1) / threads
            if lo < hi && !self.bands(x, shape: s, rows: lo..<hi, band: band, into: y) { failed.store(true, ordering: .relaxed) }
        }
        if failed.load(ordering: .relaxed) {
            throw KernelError.invalidArgument(what: "InvertedResidual \(inChannels) -> \(hidden) -> \(outChannels)", reason: "cannot allocate its band scratch")
        }
    }

    private func check(_ s: DepthwiseNHWCShape) throws {
        guard s.channels == hidden, s.kernelH == kernel, s.kernelW == kernel, s.strideH == stride, s.strideW == stride else {
            throw KernelError.invalidArgument(what: "InvertedResidual", reason: "shape \(s) does not match the block (hidden \(hidden), kernel \(kernel), stride \(stride))")
        }
        try s.validate()
        guard !residual || (s.outHeight == s.height && s.outWidth == s.width) else {
            throw KernelError.invalidArgument(what: "InvertedResidual", reason: "a residual block must keep its size, \(s)")
        }
        guard s.height * s.width * max(hidden, inChannels) <= Int(Int32.max), s.outHeight * s.outWidth * max(hidden, outChannels) <= Int(Int32.max) else {
            throw KernelError.invalidArgument(what: "InvertedResidual", reason: "\(s) is more than the kernels index")
        }
    }

    /// Output rows `rows` in bands of `band` rows on the calling thread.
    private func bands(_ x: UnsafePointer<Float>, shape s: DepthwiseNHWCShape, rows: Range<Int>, band: Int,
                       into y: UnsafeMutablePointer<Float>) -> Bool {
        let ring = expand == nil ? s.height : ringRows(s, band: band)
        let ringFloats = expand == nil ? 0 : ring * s.width * hidden
        guard let scratch = sl_thread_scratch(3, ringFloats + band * s.outWidth * hidden) else { return false }
        let expanded = scratch // (ring, W, hidden): input row iy in slot iy % ring
        let depthwise = scratch + ringFloats // (band, OW, hidden)
        let cin = inChannels, cout = outChannels
        let isa = Int32(KernelConfig.isa.rawValue)
        var next = 0 // the first input row not yet expanded into the ring
        var oy0 = rows.lowerBound
        while oy0 < rows.upperBound {
            let oy1 = min(rows.upperBound, oy0 + band)
            var source = x
            if let expand {
                let lo = max(0, oy0 * s.strideH - s.padTop), hi = min(s.height, (oy1 - 1) * s.strideH - s.padTop + s.kernelH)
                next = max(next, lo)
                while next < hi {
                    let slot = next % ring, n = min(hi - next, ring - slot)
                    if !expand.forwardSerial(x + next * s.width * cin, pixels: n * s.width, into: expanded + slot * s.width * hidden) {
                        return false
                    }
                    next += n
                }
                source = UnsafePointer(expanded)
            }
            sl_depthwise_conv2d_nhwc_ring(isa, source, Int32(ring), Int32(s.height), Int32(s.width), Int32(hidden), depthwiseWeight,
                                          Int32(s.kernelH), Int32(s.kernelW), Int32(s.strideH), Int32(s.strideW), Int32(s.padTop),
                                          Int32(s.padLeft), depthwiseBias, 1, depthwise, Int32(s.outWidth), Int32(oy0), Int32(oy1))
            let at = oy0 * s.outWidth
            if !project.forwardSerial(depthwise, pixels: (oy1 - oy0) * s.outWidth, into: y + at * cout,
                                      residual: residual ? x + at * cout : nil) {
                return false
            }
            oy0 = oy1
        }
        return true
    }

    /// The three layers one after another, each split over the pool.
    private func threePasses(_ x: UnsafePointer<Float>, shape s: DepthwiseNHWCShape, into y: UnsafeMutablePointer<Float>,
                             pool: ThreadPool) throws {
        let expandedFloats = expand == nil ? 0 : s.height * s.width * hidden
        let dwFloats = s.outHeight * s.outWidth * hidden
        // Small (the block fits the band budget): the calling thread's slot, which the
        // channels-last pointwise and depthwise kernels the pool runs never take.
        guard let scratch = sl_thread_scratch(3, expandedFloats + dwFloats) else {
            throw KernelError.invalidArgument(what: "InvertedResidual \(inChannels) -> \(hidden) -> \(outChannels)", reason: "cannot allocate its scratch")
        }
        var source = x
        if let expand {
            try expand.forward(x, pixels: s.height * s.width, into: scratch, pool: pool)
            source = UnsafePointer(scratch)
        }
        try depthwiseConv2dNHWC(source, shape: s, weight: depthwiseWeight, bias: depthwiseBias, relu6: true,
                                output: scratch + expandedFloats, pool: pool)
        try project.forward(scratch + expandedFloats, pixels: s.outHeight * s.outWidth, into: y, residual: residual ? x : nil, pool: pool)
    }

    /// The reference kernels of the three layers one after another.
    public func forwardReference(_ x: UnsafePointer<Float>, shape s: DepthwiseNHWCShape, into y: UnsafeMutablePointer<Float>) {
        let expandedFloats = expand == nil ? 0 : s.height * s.width * hidden
        let scratch = UnsafeMutablePointer<Float>.allocate(capacity: expandedFloats + s.outHeight * s.outWidth * hidden)
        defer { scratch.deallocate() }
        var source = x
        if let expand {
            expand.forwardReference(x, pixels: s.height * s.width, into: scratch)
            source = UnsafePointer(scratch)
        }
        depthwiseConv2dNHWCReference(source, shape: s, weight: depthwiseWeight, bias: depthwiseBias, relu6: true,
                                     output: scratch + expandedFloats)
        project.forwardReference(scratch + expandedFloats, pixels: s.outHeight * s.outWidth, into: y, residual: residual ? x : nil)
    }
}
