// Dot products of one int8 vector against many (retrieval's quantised text vectors): the
// AVX2 kernel in CKernels (dot_i8.c), or its scalar reference when `KernelConfig.forceReference`
// is set or the CPU has no AVX2. Exact in int32 (no rounding): both paths agree bit for bit.
import CKernels

public enum Int8Dot {
    /// out[r] = Σ_j query[j]·rows[r·dim + j] for r in 0..<count. Codes must lie in -127...127
    /// (the AVX2 path pairs products in 16 bits). query: (dim,); rows: (count, dim); out: (count,).
    public static func dots(query: UnsafePointer<Int8>, rows: UnsafePointer<Int8>, count: Int, dim: Int,
                            into out: UnsafeMutablePointer<Int32>)
    {
        guard count > 0, dim > 0 else { return }
        let isa = KernelConfig.forceReference ? Int32(SL_ISA_SCALAR) : Int32(KernelConfig.isa.rawValue)
        sl_dot_i8(isa, query, rows, count, Int32(dim), out)
    }
}
