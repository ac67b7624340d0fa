// A Linear layer y = x·Wᵀ + b with the PyTorch weight layout (out, in), packed once at load
// into the micro-kernel's NR-wide panels so the per-call path never repacks weights.
// Weights may come as Float32, Float16 bits (widened exactly) or BF16 bits. With
// `storage: .bfloat16` on a CPU with AVX-512 BF16 the panels stay bf16 (half the memory
// traffic); `bf16Compute` picks between widening them in registers (exact fp32 activations)
// and vdpbf16ps on bf16-rounded activations (twice the multiply rate, ~3 significant digits
// per product). Elsewhere bf16 weights are widened to fp32 at load, or, with
// `bf16Fallback: .emulate`, rounded to bf16 and kept in fp32 panels with the activations
// rounded as vdpbf16ps would see them: the numbers of the bf16 path on any CPU (to check
// accuracy), at fp32 speed plus a rounding pass (slower, not faster). The panels are laid out
// for the KernelConfig.isa current at init; a layer keeps using that path afterwards.
import CKernels

public final class PackedLinear: @unchecked Sendable {
    /// How the packed weights are kept in memory.
    public enum Storage: Sendable { case float32, bfloat16 }

    /// How bf16-stored weights are multiplied (ignored for fp32 storage).
    public enum BF16Compute: Sendable {
        /// Activations stay fp32; weights widened in registers (exact products).
        case exact
        /// Activations rounded to bf16, vdpbf16ps with fp32 accumulation.
        case dotProduct
        /// dotProduct for rows >= 16 (compute-bound), exact below (bandwidth-bound anyway).
        case auto
    }

    /// What bf16 storage becomes on a CPU without AVX-512 BF16.
    public enum BF16Fallback: Sendable {
        /// Exact fp32 weights and activations.
        case widen
        /// bf16-rounded weights in fp32 panels; activations rounded as `bf16Compute` says.
        case emulate
    }

    public let inFeatures: Int
    public let outFeatures: Int
    /// Storage actually used (bfloat16 only where the CPU has AVX-512 BF16).
    public let storage: Storage
    public let bf16Compute: BF16Compute
    /// bf16 storage emulated in fp32 panels (`BF16Fallback.emulate` without BF16 kernels).
    public let emulatesBF16: Bool
    private let isa: KernelConfig.ISA
    private let nr: Int
    private let packed: UnsafeMutableRawPointer // fp32 (panels, in, NR) or bf16 (panels, in/2, 32, 2)
    private let bias: [Float]? // (out)

    /// From a Float32 weight (out, in) row-major and an optional bias (out).
    public init(weight: [Float], outFeatures: Int, inFeatures: Int, bias: [Float]? = nil,
                storage: Storage = .float32, bf16Compute: BF16Compute = .auto, bf16Fallback: BF16Fallback = .widen) throws {
        try PackedLinear.check(count: weight.count, out: outFeatures, in: inFeatures, bias: bias)
        self.inFeatures = inFeatures
        self.outFeatures = outFeatures
        self.bias = bias
        self.bf16Compute = bf16Compute
        isa = KernelConfig.isa
        if storage == .bfloat16 && KernelConfig.bf16Kernels {
            self.storage = .bfloat16
            emulatesBF16 = false
            nr = 32
            let bits = weight.map(HalfPrecision.floatToBFloat16)
            packed = PackedLinear.packBF16(bits, out: outFeatures, in: inFeatures)
        } else {
            self.storage = .float32
            emulatesBF16 = storage == .bfloat16 && bf16Fallback == .emulate
            nr = Int(sl_gemm_nr(Int32(isa.rawValue)))
            let w = emulatesBF16 ? weight.map { HalfPrecision.roundedToBFloat16($0) } : weight
            packed = PackedLinear.packF32(w, isa: isa, out: outFeatures, in: inFeatures)
        }
    }

    /// Whether the activations are rounded to bf16 for `rows` rows (the dot-product kernel).
    private func roundsActivations(rows: Int) -> Bool {
        switch bf16Compute {
        case .exact: false
        case .dotProduct: true
        case .auto: rows >= 16
        }
    }

    /// From IEEE fp16 bits (out, in), e.g. a CTranslate2 float16 checkpoint.
    public convenience init(float16Weight bits: [UInt16], outFeatures: Int, inFeatures: Int, bias: [Float]? = nil,
                            storage: Storage = .float32, bf16Compute: BF16Compute = .auto) throws {
        try self.init(weight: bits.map(HalfPrecision.float16ToFloat), outFeatures: outFeatures, inFeatures: inFeatures,
                      bias: bias, storage: storage, bf16Compute: bf16Compute)
    }

    /// From bf16 bits (out, in). Kept as bf16 where the CPU has AVX-512 BF16, unless
    /// `storage` is `.float32`.
    public convenience init(bfloat16Weight bits: [UInt16], outFeatures: Int, inFeatures: Int, bias: [Float]? = nil,
                            storage: Storage = .bfloat16, bf16Compute: BF16Compute = .auto) throws {
        try self.init(weight: bits.map(HalfPrecision.bfloat16ToFloat), outFeatures: outFeatures, inFeatures: inFeatures,
                      bias: bias, storage: storage, bf16Compute: bf16Compute)
    }

    /// From a checkpoint tensor (out, in) of any element type.
    public convenience init(weight: WeightTensor, bias: [Float]? = nil, storage: Storage? = nil,
                            bf16Compute: BF16Compute = .auto, bf16Fallback: BF16Fallback = .widen) throws {
        guard weight.shape.count == 2 else {
            throw KernelError.invalidArgument(what: "PackedLinear weight", reason: "expected rank 2 (out, in), got shape \(weight.shape)")
        }
        let defaultStorage: Storage = weight.elementType == .bfloat16 ? .bfloat16 : .float32
        try self.init(weight: weight.floats(), outFeatures: weight.shape[0], inFeatures: weight.shape[1], bias: bias,
                      storage: storage ?? defaultStorage, bf16Compute: bf16Compute, bf16Fallback: bf16Fallback)
    }

    deinit { packed.deallocate() }

    /// y (rows, out) = x (rows, in) · Wᵀ + b.
    public func forward(_ x: UnsafePointer<Float>, rows: Int, into y: UnsafeMutablePointer<Float>,
                        pool: ThreadPool = .shared) {
        guard rows > 0 else { return }
        let out = outFeatures
        if let bias {
            bias.withUnsafeBufferPointer { b in
                for r in 0..<rows { (y + r * out).update(from: b.baseAddress!, count: out) }
            }
        }
        let beta: Float = bias == nil ? 0 : 1
        if KernelConfig.forceReference {
            forwardReference(x, rows: rows, into: y, beta: beta)
            return
        }
        if emulatesBF16 && roundsActivations(rows: rows) {
            // (rows, in) the activations as the bf16 dot-product kernel would read them.
            let rounded = UnsafeMutablePointer<Float>.allocate(capacity: rows * inFeatures)
            defer { rounded.deallocate() }
            let n = rows * inFeatures
            pool.parallelFor(n, minChunk: 1 << 16) { range in
                for i in range { rounded[i] = HalfPrecision.roundedToBFloat16(x[i]) }
            }
            gemm(UnsafePointer(rounded), rows: rows, into: y, beta: beta, pool: pool)
            return
        }
        gemm(x, rows: rows, into: y, beta: beta, pool: pool)
    }

    private func gemm(_ x: UnsafePointer<Float>, rows: Int, into y: UnsafeMutablePointer<Float>, beta: Float, pool: ThreadPool) {
        let out = outFeatures
        var args = sl_gemm_args()
        args.isa = Int32(isa.rawValue)
        args.m = Int32(rows); args.n = Int32(out); args.k = Int32(inFeatures)
        args.alpha = 1; args.beta = beta
        args.a = x; args.lda = inFeatures
        args.c = y; args.ldc = out
        if storage == .bfloat16 {
            args.packedB16 = UnsafePointer(packed.assumingMemoryBound(to: UInt16.self))
            let dot: Bool
            switch bf16Compute {
            case .exact: dot = false
            case .dotProduct: dot = true
            case .auto: dot = rows >= 16
            }
            args.bf16Mode = Int32(dot ? SL_BF16_DOT : SL_BF16_EXACT_A)
        } else {
            args.packedB = UnsafePointer(packed.assumingMemoryBound(to: Float.self))
        }
        GEMMPartition.run(args, pool: pool)
    }

    /// The weight element (o, i) as the kernels see it (after any bf16 rounding).
    public func weight(out o: Int, in i: Int) -> Float {
        let k = inFeatures
        if storage == .bfloat16 {
            let pairs = (k + 1) / 2
            let p = packed.assumingMemoryBound(to: UInt16.self)
            return HalfPrecision.bfloat16ToFloat(p[(o / 32) * pairs * 64 + (i / 2) * 64 + (o % 32) * 2 + (i & 1)])
        }
        return packed.assumingMemoryBound(to: Float.self)[(o / nr) * k * nr + i * nr + o % nr]
    }

    /// Plain loops over the packed weights (y already holds the bias when beta == 1).
    private func forwardReference(_ x: UnsafePointer<Float>, rows: Int, into y: UnsafeMutablePointer<Float>, beta: Float) {
        let dot = (storage == .bfloat16 || emulatesBF16) && roundsActivations(rows: rows)
        for r in 0..<rows {
            for o in 0..<outFeatures {
                var s: Float = 0
                for i in 0..<inFeatures {
                    var xv = x[r * inFeatures + i]
                    if dot { xv = HalfPrecision.roundedToBFloat16(xv) }
                    s += xv * weight(out: o, in: i)
                }
                y[r * outFeatures + o] = s + (beta == 0 ? 0 : y[r * outFeatures + o])
            }
        }
    }

    // MARK: - Packing

    private static func check(count: Int, out: Int, in inF: Int, bias: [Float]?) throws {
        guard out > 0, inF > 0 else {
            throw KernelError.invalidArgument(what: "PackedLinear", reason: "outFeatures \(out) and inFeatures \(inF) must be > 0")
        }
        guard count == out * inF else {
            throw KernelError.shapeMismatch(what: "PackedLinear weight", shape: [out, inF], expectedCount: out * inF, actualCount: count)
        }
        if let bias, bias.count != out {
            throw KernelError.shapeMismatch(what: "PackedLinear bias", shape: [out], expectedCount: out, actualCount: bias.count)
        }
    }

    private static func packF32(_ w: [Float], isa: KernelConfig.ISA, out: Int, in inF: Int) -> UnsafeMutableRawPointer {
        let floats = sl_packed_b_floats(Int32(isa.rawValue), Int32(inF), Int32(out))
        let raw = UnsafeMutableRawPointer.allocate(byteCount: max(floats, 1) * 4, alignment: 64)
        w.withUnsafeBufferPointer { src in
            sl_pack_b_f32(Int32(isa.rawValue), Int32(inF), Int32(out), src.baseAddress!, inF, 1,
                          raw.assumingMemoryBound(to: Float.self))
        }
        return raw
    }

    private static func packBF16(_ bits: [UInt16], out: Int, in inF: Int) -> UnsafeMutableRawPointer {
        let elems = sl_packed_b_bf16_elems(Int32(inF), Int32(out))
        let raw = UnsafeMutableRawPointer.allocate(byteCount: max(elems, 1) * 2, alignment: 64)
        bits.withUnsafeBufferPointer { src in
            sl_pack_b_bf16(Int32(inF), Int32(out), src.baseAddress!, inF, 1, raw.assumingMemoryBound(to: UInt16.self))
        }
        return raw
    }
}
