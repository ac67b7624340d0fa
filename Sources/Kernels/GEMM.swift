// General matrix multiply C = alpha * op(A) * op(B) + beta * C (row-major, BLAS semantics
// with leading dimensions), its batched form for attention, and the plain reference. The
// optimised path is CKernels' packed-panel driver; this file only splits the output into
// per-thread blocks: by rows when there are plenty (each thread packs its own A and reads
// all of B), else by NR-wide column panels (decoder-shaped GEMMs with a handful of rows).
import CKernels

/// C (m, n) = alpha * op(A) (m, k) * op(B) (k, n) + beta * C. `transA`: A is stored (k, m);
/// `transB`: B is stored (n, k). When beta == 0, C is not read (it may hold garbage).
public func sgemm(
    transA: Bool = false, transB: Bool = false, m: Int, n: Int, k: Int, alpha: Float = 1,
    a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int, beta: Float = 0,
    c: UnsafeMutablePointer<Float>, ldc: Int, pool: ThreadPool = .shared
) {
    guard m > 0, n > 0 else { return }
    if KernelConfig.forceReference {
        sgemmReference(transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda,
                       b: b, ldb: ldb, beta: beta, c: c, ldc: ldc)
        return
    }
    var args = sl_gemm_args()
    args.isa = Int32(KernelConfig.isa.rawValue)
    args.m = Int32(m); args.n = Int32(n); args.k = Int32(k)
    args.alpha = alpha; args.beta = beta
    args.a = a; args.lda = lda; args.transA = transA ? 1 : 0
    args.b = b; args.ldb = ldb; args.transB = transB ? 1 : 0
    args.c = c; args.ldc = ldc
    GEMMPartition.run(args, pool: pool)
}

/// `batch` independent GEMMs whose operands sit `strideA` / `strideB` / `strideC` elements
/// apart (attention heads). Threads take whole problems when there are enough of them.
public func sgemmBatched(
    transA: Bool = false, transB: Bool = false, m: Int, n: Int, k: Int, alpha: Float = 1,
    a: UnsafePointer<Float>, lda: Int, strideA: Int, b: UnsafePointer<Float>, ldb: Int, strideB: Int,
    beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int, strideC: Int, batch: Int,
    pool: ThreadPool = .shared
) {
    guard batch > 0, m > 0, n > 0 else { return }
    if KernelConfig.forceReference {
        for i in 0..<batch {
            sgemmReference(transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha, a: a + i * strideA,
                           lda: lda, b: b + i * strideB, ldb: ldb, beta: beta, c: c + i * strideC, ldc: ldc)
        }
        return
    }
    var args = sl_gemm_args()
    args.isa = Int32(KernelConfig.isa.rawValue)
    args.m = Int32(m); args.n = Int32(n); args.k = Int32(k)
    args.alpha = alpha; args.beta = beta
    args.lda = lda; args.transA = transA ? 1 : 0
    args.ldb = ldb; args.transB = transB ? 1 : 0
    args.ldc = ldc
    if batch >= pool.threadCount && pool.threadCount > 1 {
        pool.run(tasks: batch) { i in
            var local = args
            local.a = a + i * strideA; local.b = b + i * strideB; local.c = c + i * strideC
            sl_gemm_block(&local, 0, local.m, 0, local.n)
        }
    } else {
        for i in 0..<batch {
            var local = args
            local.a = a + i * strideA; local.b = b + i * strideB; local.c = c + i * strideC
            GEMMPartition.run(local, pool: pool)
        }
    }
}

/// Plain triple loop with the same semantics as `sgemm` (the correctness reference).
public func sgemmReference(
    transA: Bool = false, transB: Bool = false, m: Int, n: Int, k: Int, alpha: Float = 1,
    a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int, beta: Float = 0,
    c: UnsafeMutablePointer<Float>, ldc: Int
) {
    for i in 0..<m {
        for j in 0..<n {
            var s: Float = 0
            for p in 0..<k {
                let av = transA ? a[p * lda + i] : a[i * lda + p]
                let bv = transB ? b[j * ldb + p] : b[p * ldb + j]
                s += av * bv
            }
            let old = beta == 0 ? 0 : beta * c[i * ldc + j]
            c[i * ldc + j] = alpha * s + old
        }
    }
}

/// How one GEMM is split over the pool's threads.
enum GEMMPartition {
    /// Below this many multiply-adds a GEMM runs on the calling thread: waking a worker
    /// (and, on a busy machine, waiting for it) costs more than it saves.
    static let serialWork = 1 << 20

    static func run(_ args: sl_gemm_args, pool: ThreadPool) {
        let m = Int(args.m), n = Int(args.n), k = Int(args.k)
        let bf16 = args.packedB16 != nil
        let mr = Int(bf16 ? 12 : sl_gemm_mr(args.isa))
        let nr = Int(bf16 ? 32 : sl_gemm_nr(args.isa))
        let threads = pool.threadCount
        if threads == 1 || m * n * max(k, 1) < serialWork {
            withUnsafePointer(to: args) { sl_gemm_block($0, 0, Int32(m), 0, Int32(n)) }
            return
        }
        let panels = (n + nr - 1) / nr
        let rowBlocks = (m + mr - 1) / mr
        // Rows when each thread gets several register tiles of them, else column panels.
        // Two tasks per thread when there is enough work, so a thread slowed by another
        // process hands its second share to the other thread.
        let byRows = rowBlocks >= 4 * threads || panels < threads
        let units = byRows ? rowBlocks : panels
        let tasks = min(units, units >= 8 * threads ? 2 * threads : threads)
        pool.run(tasks: tasks) { t in
            withUnsafePointer(to: args) { p in
                if byRows {
                    let lo = rowBlocks * t / tasks * mr, hi = min(m, rowBlocks * (t + 1) / tasks * mr)
                    if lo < hi { sl_gemm_block(p, Int32(lo), Int32(hi), 0, Int32(n)) }
                } else {
                    let lo = panels * t / tasks * nr, hi = min(n, panels * (t + 1) / tasks * nr)
                    if lo < hi { sl_gemm_block(p, 0, Int32(m), Int32(lo), Int32(hi)) }
                }
            }
        }
    }
}
