// KernelsBench: GEMM throughput of the Kernels target next to Debian's OpenBLAS
// (cblas_sgemm, loaded with dlopen here only -- OpenBLAS is never a product dependency) on
// the shapes Sightline's models run, with 1 and 2 threads. Per case, the two libraries are
// timed alternately and the median of several runs is reported, so background load hits
// both alike. Rows: (M, K, N) = x (M, K) · Wᵀ with W (N, K), PyTorch Linear layout, which is
// what the models do; "packed" is PackedLinear (weights packed once at load, the product
// path), "sgemm" is the general entry (packs B every call, like OpenBLAS does).
// Last line of output: one JSON object with every figure and ratio.
// Run through `Benchmarks/run kernels` (which clears OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE in
// this process's environment so OpenBLAS picks its best kernel).
import Foundation
import Kernels

// MARK: - OpenBLAS via dlopen

typealias CblasSgemm = @convention(c) (Int32, Int32, Int32, Int32, Int32, Int32, Float, UnsafePointer<Float>?, Int32,
                                       UnsafePointer<Float>?, Int32, Float, UnsafeMutablePointer<Float>?, Int32) -> Void
typealias SetThreads = @convention(c) (Int32) -> Void
typealias CoreName = @convention(c) () -> UnsafePointer<CChar>?

struct OpenBLAS {
    let sgemm: CblasSgemm
    let setThreads: SetThreads
    let coreName: String
    let config: String

    init() throws {
        guard let h = dlopen("libopenblas.so.0", RTLD_NOW) else {
            throw BenchError("cannot dlopen libopenblas.so.0 (\(String(cString: dlerror()))); install libopenblas-dev (Scripts/setup does)")
        }
        func sym<T>(_ name: String, _: T.Type) throws -> T {
            guard let p = dlsym(h, name) else { throw BenchError("libopenblas.so.0 has no symbol \(name)") }
            return unsafeBitCast(p, to: T.self)
        }
        sgemm = try sym("cblas_sgemm", CblasSgemm.self)
        setThreads = try sym("openblas_set_num_threads", SetThreads.self)
        coreName = (try? sym("openblas_get_corename", CoreName.self)).flatMap { $0() }.map { String(cString: $0) } ?? "?"
        config = (try? sym("openblas_get_config", CoreName.self)).flatMap { $0() }.map { String(cString: $0) } ?? "?"
    }

    /// y (m, n) = x (m, k) · wᵀ, w (n, k).
    func linear(m: Int, n: Int, k: Int, x: UnsafePointer<Float>, w: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>) {
        sgemm(101, 111, 112, Int32(m), Int32(n), Int32(k), 1, x, Int32(k), w, Int32(k), 0, y, Int32(n))
    }
}

struct BenchError: Error, CustomStringConvertible {
    let description: String
    init(_ d: String) { description = d }
}

// MARK: - Timing

/// Single-threaded cases are timed in the calling thread's CPU time, so time the thread
/// spent preempted by other processes on this shared 2-core machine is not charged to
/// either library; multi-threaded cases need wall time (the CPU clock would add the
/// workers' time up), and are only meaningful on an otherwise idle machine -- the load
/// average is recorded next to them.
nonisolated(unsafe) var benchClock = CLOCK_MONOTONIC

func now() -> Double {
    var ts = timespec()
    clock_gettime(benchClock, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
}

func loadAverage() -> Double {
    guard let text = try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8) else { return -1 }
    return Double(text.split(separator: " ").first ?? "") ?? -1
}

func clockSeconds(_ id: clockid_t) -> Double {
    var ts = timespec()
    clock_gettime(id, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
}

/// Wall and whole-process CPU seconds per call of the last `timePerCall`. With 2 threads,
/// process CPU time (both threads, spinning included) over the 1-thread CPU time gives a
/// load-independent estimate of the parallel overhead; wall time gives the real speed-up
/// only when nothing else runs.
nonisolated(unsafe) var lastWall = 0.0
nonisolated(unsafe) var lastProcessCPU = 0.0

/// Seconds per call of `body` on `benchClock`, repeated until at least `minTime` elapsed.
func timePerCall(minTime: Double, _ body: () -> Void) -> Double {
    var calls = 0
    let w0 = clockSeconds(CLOCK_MONOTONIC), p0 = clockSeconds(CLOCK_PROCESS_CPUTIME_ID)
    let t0 = now()
    var t = t0
    repeat {
        body()
        calls += 1
        t = now()
    } while t - t0 < minTime
    lastWall = (clockSeconds(CLOCK_MONOTONIC) - w0) / Double(calls)
    lastProcessCPU = (clockSeconds(CLOCK_PROCESS_CPUTIME_ID) - p0) / Double(calls)
    return (t - t0) / Double(calls)
}

func median(_ v: [Double]) -> Double {
    let s = v.sorted()
    return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
}

@main
enum KernelsBench {
    static func main() throws {
        // MARK: - Cases

        struct Case {
            let label: String
            let m, k, n: Int
            let group: String // encoder | decoder | vit | minilm
        }

        var cases: [Case] = [
            Case(label: "whisper-enc qkv/out", m: 1500, k: 512, n: 512, group: "encoder"),
            Case(label: "whisper-enc fc1", m: 1500, k: 512, n: 2048, group: "encoder"),
            Case(label: "whisper-enc fc2", m: 1500, k: 2048, n: 512, group: "encoder"),
        ]
        // 1–8 rows: one utterance's beams; 10–30: the beams of utterances decoded together.
        let decoderRows = Array(1...8) + [10, 15, 20, 30]
        for m in decoderRows { cases.append(Case(label: "whisper-dec proj", m: m, k: 512, n: 512, group: "decoder")) }
        for m in decoderRows { cases.append(Case(label: "whisper-dec logits", m: m, k: 512, n: 51865, group: "decoder")) }
        cases.append(Case(label: "ViT-B/32 mlp", m: 50, k: 768, n: 3072, group: "vit"))
        cases.append(Case(label: "MiniLM mlp", m: 128, k: 384, n: 1536, group: "minilm"))

        let args = CommandLine.arguments
        let quick = args.contains("--quick")
        // --group NAME keeps only one group of cases (encoder, decoder, vit, minilm)
        if let i = args.firstIndex(of: "--group"), i + 1 < args.count {
            cases = cases.filter { $0.group == args[i + 1] }
        }
        // --threads N measures only N threads (default: 1 and 2)
        var threadCounts = [1, 2]
        if let i = args.firstIndex(of: "--threads"), i + 1 < args.count, let t = Int(args[i + 1]) { threadCounts = [t] }
        // --isa avx2|scalar forces a slower path of ours (default: the best this CPU has)
        if let i = args.firstIndex(of: "--isa"), i + 1 < args.count {
            switch args[i + 1] {
            case "scalar": KernelConfig.isa = .scalar
            case "avx2": KernelConfig.isa = .avx2
            default: KernelConfig.isa = .avx512
            }
        }
        let onlyOps = args.firstIndex(of: "--group").map { args[$0 + 1] == "ops" } ?? false
        let runs = quick ? 3 : 7
        let minTime = quick ? 0.02 : 0.05

        let blas: OpenBLAS
        do { blas = try OpenBLAS() } catch {
            FileHandle.standardError.write("KernelsBench: \(error)\n".data(using: .utf8)!)
            exit(1)
        }

        print("KernelsBench: Kernels \(KernelConfig.isa) (bf16 dot: \(KernelConfig.cpuHasBF16)) vs OpenBLAS \(blas.config), core \(blas.coreName)")
        print("OPENBLAS_CORETYPE=\(ProcessInfo.processInfo.environment["OPENBLAS_CORETYPE"] ?? "(unset)") OPENBLAS_L2_SIZE=\(ProcessInfo.processInfo.environment["OPENBLAS_L2_SIZE"] ?? "(unset)")")
        print("median of \(runs) runs; 1 thread: calling thread's CPU time, 2 threads: wall time (load average now \(loadAverage()))")
        print("GFLOPS = 2MKN / time; GB/s = (weights + x + y bytes) / time")
        print("")
        let header = "shape (M,K,N)        case                 thr  packed GF  sgemm GF  bf16 GF  OpenBLAS GF  packed/OB  sgemm/OB  bf16/fp32  packed GB/s  OB GB/s"
        print(header)

        var results: [[String: Any]] = []
        let pools = Dictionary(uniqueKeysWithValues: threadCounts.map { ($0, ThreadPool(threads: $0)) })
        var rng: UInt64 = 12345
        func rand() -> Float {
            rng = rng &* 6364136223846793005 &+ 1442695040888963407
            return Float(Int64(bitPattern: rng >> 11) % 2000 - 1000) / 1000
        }

        for c in cases where !onlyOps {
            let x = (0..<(c.m * c.k)).map { _ in rand() }        // (M, K)
            let w = (0..<(c.n * c.k)).map { _ in rand() * 0.05 } // (N, K)
            var yOurs = [Float](repeating: 0, count: c.m * c.n)  // (M, N)
            var yBlas = [Float](repeating: 0, count: c.m * c.n)
            let packed = try PackedLinear(weight: w, outFeatures: c.n, inFeatures: c.k)
            let packedBF = try PackedLinear(weight: w, outFeatures: c.n, inFeatures: c.k, storage: .bfloat16)
            let flops = 2.0 * Double(c.m) * Double(c.k) * Double(c.n)
            let bytes32 = 4.0 * Double(c.n * c.k + c.m * c.k + c.m * c.n)
            for threads in threadCounts {
                let pool = pools[threads]!
                blas.setThreads(Int32(threads))
                benchClock = threads == 1 ? CLOCK_THREAD_CPUTIME_ID : CLOCK_MONOTONIC
                let load = loadAverage()
                var tPacked: [Double] = [], tSgemm: [Double] = [], tBF: [Double] = [], tBlas: [Double] = []
                var wallPacked: [Double] = [], cpuPacked: [Double] = [], wallBlas: [Double] = [], cpuBlas: [Double] = []
                x.withUnsafeBufferPointer { xp in w.withUnsafeBufferPointer { wp in
                    yOurs.withUnsafeMutableBufferPointer { yo in yBlas.withUnsafeMutableBufferPointer { yb in
                        let xa = xp.baseAddress!, wa = wp.baseAddress!, ya = yo.baseAddress!, ba = yb.baseAddress!
                        // warm-up (thread wake, page faults, caches)
                        packed.forward(xa, rows: c.m, into: ya, pool: pool)
                        blas.linear(m: c.m, n: c.n, k: c.k, x: xa, w: wa, y: ba)
                        for _ in 0..<runs {
                            tBlas.append(timePerCall(minTime: minTime) { blas.linear(m: c.m, n: c.n, k: c.k, x: xa, w: wa, y: ba) })
                            wallBlas.append(lastWall); cpuBlas.append(lastProcessCPU)
                            tPacked.append(timePerCall(minTime: minTime) { packed.forward(xa, rows: c.m, into: ya, pool: pool) })
                            wallPacked.append(lastWall); cpuPacked.append(lastProcessCPU)
                            tSgemm.append(timePerCall(minTime: minTime) {
                                sgemm(transB: true, m: c.m, n: c.n, k: c.k, a: xa, lda: c.k, b: wa, ldb: c.k, c: ya, ldc: c.n, pool: pool)
                            })
                            tBF.append(timePerCall(minTime: minTime) { packedBF.forward(xa, rows: c.m, into: ya, pool: pool) })
                        }
                    } }
                } }
                // agreement check on the fp32 path
                x.withUnsafeBufferPointer { xp in yOurs.withUnsafeMutableBufferPointer { yo in packed.forward(xp.baseAddress!, rows: c.m, into: yo.baseAddress!, pool: pool) } }
                var maxDiff: Float = 0
                for i in 0..<yOurs.count { maxDiff = max(maxDiff, abs(yOurs[i] - yBlas[i])) }
                let gP = flops / median(tPacked) / 1e9, gS = flops / median(tSgemm) / 1e9
                let gB = flops / median(tBF) / 1e9, gO = flops / median(tBlas) / 1e9
                let bwP = bytes32 / median(tPacked) / 1e9, bwO = bytes32 / median(tBlas) / 1e9
                let shape = "(\(c.m),\(c.k),\(c.n))"
                print(shape.padding(toLength: 21, withPad: " ", startingAt: 0) + c.label.padding(toLength: 21, withPad: " ", startingAt: 0)
                      + String(format: "%3d %10.1f %9.1f %8.1f %12.1f %10.2f %9.2f %10.2f %12.1f %8.1f", threads, gP, gS, gB, gO,
                               gP / gO, gS / gO, gB / gP, bwP, bwO))
                results.append([
                    "m": c.m, "k": c.k, "n": c.n, "case": c.label, "group": c.group, "threads": threads,
                    "packed_gflops": gP, "sgemm_gflops": gS, "bf16_gflops": gB, "openblas_gflops": gO,
                    "packed_vs_openblas": gP / gO, "sgemm_vs_openblas": gS / gO, "bf16_vs_fp32": gB / gP,
                    "packed_gbps": bwP, "openblas_gbps": bwO, "clock": threads == 1 ? "thread_cpu" : "wall", "load_average": load,
                    "packed_wall_s": median(wallPacked), "packed_process_cpu_s": median(cpuPacked),
                    "openblas_wall_s": median(wallBlas), "openblas_process_cpu_s": median(cpuBlas), "max_abs_diff_vs_openblas": Double(maxDiff),
                ])
            }
        }

        // MARK: - Other kernels: optimised vs reference path, one thread, thread CPU time

        var ops: [[String: Any]] = []
        if onlyOps || !args.contains("--group") {
            benchClock = CLOCK_THREAD_CPUTIME_ID
            let one = ThreadPool(threads: 1)
            print("")
            print("kernel (shape)                                   optimised ms  reference ms  speed-up")
            func op(_ name: String, reference: Bool = true, flops: Double = 0, _ body: @escaping () -> Void) {
                var tOpt: [Double] = [], tRef: [Double] = []
                body()
                for _ in 0..<runs {
                    tOpt.append(timePerCall(minTime: minTime, body))
                    if reference {
                        KernelConfig.forceReference = true
                        tRef.append(timePerCall(minTime: minTime, body))
                        KernelConfig.forceReference = false
                    }
                }
                let o = median(tOpt) * 1e3
                if reference {
                    let r = median(tRef) * 1e3
                    print(name.padding(toLength: 48, withPad: " ", startingAt: 0) + String(format: "%13.3f %13.3f %9.1f", o, r, r / o))
                    ops.append(["kernel": name, "optimised_ms": o, "reference_ms": r, "speedup": r / o])
                } else {
                    let gf = flops / (o * 1e-3) / 1e9
                    print(name.padding(toLength: 48, withPad: " ", startingAt: 0) + String(format: "%13.3f             -         -   (%.1f GFLOPS)", o, gf))
                    ops.append(["kernel": name, "optimised_ms": o, "gflops": gf])
                }
            }
            var big = (0..<(1500 * 2048)).map { _ in rand() * 4 } // (1500, 2048)
            let bigCopy = big
            op("gelu erf (1500, 2048)") { big.withUnsafeMutableBufferPointer { Activation.geluErf.apply(bigCopy, count: bigCopy.count, into: $0.baseAddress!, pool: one) } }
            op("gelu tanh (1500, 2048)") { big.withUnsafeMutableBufferPointer { Activation.geluTanh.apply(bigCopy, count: bigCopy.count, into: $0.baseAddress!, pool: one) } }
            op("silu (1500, 2048)") { big.withUnsafeMutableBufferPointer { Activation.silu.apply(bigCopy, count: bigCopy.count, into: $0.baseAddress!, pool: one) } }
            let ln = (0..<(1500 * 512)).map { _ in rand() }, gamma = (0..<512).map { _ in rand() }, beta = (0..<512).map { _ in rand() }
            var lnOut = [Float](repeating: 0, count: 1500 * 512)
            op("layerNorm (1500, 512)") { layerNorm(ln, rows: 1500, cols: 512, gamma: gamma, beta: beta, eps: 1e-5, out: &lnOut, pool: one) }
            var scores = (0..<(1500 * 1500)).map { _ in rand() * 8 }
            let scoresCopy = scores
            op("softmax (1500, 1500)") {
                scores.withUnsafeMutableBufferPointer { p in
                    p.baseAddress!.update(from: scoresCopy, count: scoresCopy.count)
                    softmax(p.baseAddress!, rows: 1500, cols: 1500, pool: one)
                }
            }
            let mel = (0..<(80 * 3000)).map { _ in rand() }, convW = (0..<(512 * 80 * 3)).map { _ in rand() * 0.1 }
            let convB = (0..<512).map { _ in rand() }
            var convOut = [Float](repeating: 0, count: 512 * 3000)
            let conv1 = Conv1dShape(inChannels: 80, outChannels: 512, length: 3000, kernel: 3, padding: 1)
            op("conv1d whisper conv1 (80->512, 3000, k3)") { try? conv1d(mel, shape: conv1, weight: convW, bias: convB, output: &convOut, pool: one) }
            let dw = (0..<(96 * 56 * 56)).map { _ in rand() }, dwW = (0..<(96 * 9)).map { _ in rand() }
            var dwOut = [Float](repeating: 0, count: 96 * 28 * 28)
            let dwShape = Conv2dShape(inChannels: 96, outChannels: 96, height: 56, width: 56, kernel: 3, stride: 2, padding: 1, groups: 96)
            op("conv2d depthwise mobilenet (96, 56x56, s2)") { try? conv2d(dw, shape: dwShape, weight: dwW, bias: nil, output: &dwOut, pool: one) }
            let pwIn = (0..<(96 * 56 * 56)).map { _ in rand() }, pwW = (0..<(24 * 96)).map { _ in rand() }
            var pwOut = [Float](repeating: 0, count: 24 * 56 * 56)
            let pwShape = Conv2dShape(inChannels: 96, outChannels: 24, height: 56, width: 56, kernel: 1)
            op("conv2d pointwise mobilenet (96->24, 56x56)") { try? conv2d(pwIn, shape: pwShape, weight: pwW, bias: nil, output: &pwOut, pool: one) }
            let q = (0..<(6 * 200 * 64)).map { _ in rand() }, kk = (0..<(6 * 200 * 64)).map { _ in rand() }
            var att = [Float](repeating: 0, count: 6 * 200 * 64)
            op("attention (6 heads, 200x200, d64)") {
                scaledDotProductAttention(q: q, k: kk, v: kk, heads: 6, tq: 200, tk: 200, headDim: 64, output: &att, pool: one)
            }
            // Whisper base encoder self-attention: 8 heads over 1500 frames (no reference:
            // the Double reference would take seconds).
            let eq = (0..<(1500 * 512)).map { _ in rand() }
            var eo = [Float](repeating: 0, count: 1500 * 512)
            let tm = HeadLayout.tokenMajor(heads: 8, headDim: 64)
            op("attention whisper-enc (8 heads, 1500x1500, d64)", reference: false, flops: 4 * 8 * 1500 * 1500 * 64) {
                attention(q: eq, qLayout: tm, k: eq, kLayout: tm, v: eq, vLayout: tm, heads: 8, tq: 1500, tk: 1500, headDim: 64,
                          output: &eo, outputLayout: tm, pool: one)
            }
            // The same with bf16 products (Whisper's bf16 precision; emulated, and slower, without AVX-512 BF16).
            op("attention whisper-enc bf16 products\(KernelConfig.bf16Kernels ? "" : " (emulated)")", reference: false,
               flops: 4 * 8 * 1500 * 1500 * 64) {
                attention(q: eq, qLayout: tm, k: eq, kLayout: tm, v: eq, vLayout: tm, heads: 8, tq: 1500, tk: 1500, headDim: 64,
                          output: &eo, outputLayout: tm, products: .bf16, pool: one)
            }
        }

        // MARK: - Summary

        func pick(_ group: String, _ threads: Int) -> [[String: Any]] {
            results.filter { ($0["group"] as! String) == group && ($0["threads"] as! Int) == threads }
        }
        func flops(_ r: [String: Any]) -> Double { 2.0 * Double(r["m"] as! Int) * Double(r["k"] as! Int) * Double(r["n"] as! Int) }
        func minOf(_ rows: [[String: Any]], _ key: String) -> Double { rows.map { $0[key] as! Double }.min() ?? 0 }
        let enc1 = pick("encoder", 1), enc2 = pick("encoder", 2)
        // Wall-clock speed-up (true only on an idle machine) and the CPU-time estimate
        // 2 * T1(thread CPU) / T2(process CPU of both threads), which load does not distort.
        var speedups: [Double] = [], estimates: [Double] = [], blasEstimates: [Double] = []
        for (a, b) in zip(enc1, enc2) {
            speedups.append((a["packed_wall_s"] as! Double) / (b["packed_wall_s"] as! Double))
            estimates.append(2 * (flops(a) / (a["packed_gflops"] as! Double) / 1e9) / (b["packed_process_cpu_s"] as! Double))
            blasEstimates.append(2 * (flops(a) / (a["openblas_gflops"] as! Double) / 1e9) / (b["openblas_process_cpu_s"] as! Double))
        }
        let summary: [String: Any] = [
            "encoder_min_packed_vs_openblas_1t": minOf(enc1, "packed_vs_openblas"),
            "encoder_min_sgemm_vs_openblas_1t": minOf(enc1, "sgemm_vs_openblas"),
            "encoder_min_2thread_speedup_wall": speedups.min() ?? 0,
            "encoder_min_2thread_speedup_cpu_estimate": estimates.min() ?? 0,
            "encoder_min_2thread_speedup_cpu_estimate_openblas": blasEstimates.min() ?? 0,
            "load_average_end": loadAverage(),
            "decoder_min_packed_vs_openblas_1t": minOf(pick("decoder", 1), "packed_vs_openblas"),
            "decoder_min_packed_vs_openblas_2t": minOf(pick("decoder", 2), "packed_vs_openblas"),
            "encoder_min_bf16_vs_fp32_1t": minOf(enc1, "bf16_vs_fp32"),
            "decoder_min_bf16_vs_fp32_1t": minOf(pick("decoder", 1), "bf16_vs_fp32"),
        ]
        print("")
        for (k, v) in summary.sorted(by: { $0.key < $1.key }) { print(String(format: "%-40@ %.2f", k as NSString, v as! Double)) }
        let json: [String: Any] = [
            "benchmark": "kernels", "isa": KernelConfig.detectedISA.description, "bf16": KernelConfig.cpuHasBF16,
            "openblas_core": blas.coreName, "openblas_config": blas.config, "runs": runs, "results": results, "summary": summary,
            "ops": ops, "ours_isa": KernelConfig.isa.description,
        ]
        let data = try JSONSerialization.data(withJSONObject: json, options: [.sortedKeys])
        print(String(data: data, encoding: .utf8)!)

    }
}
