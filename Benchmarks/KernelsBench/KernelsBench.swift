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

/// Seconds per call of `body`, repeated until at least `minTime` elapsed.
func timePerCall(minTime: Double, _ body: () -> Void) -> Double {
    var calls = 0
    let t0 = now()
    var t = t0
    repeat {
        body()
        calls += 1
        t = now()
    } while t - t0 < minTime
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
        for m in 1...8 { cases.append(Case(label: "whisper-dec proj", m: m, k: 512, n: 512, group: "decoder")) }
        for m in 1...8 { cases.append(Case(label: "whisper-dec logits", m: m, k: 512, n: 51865, group: "decoder")) }
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
        let runs = quick ? 3 : 7
        let minTime = quick ? 0.02 : 0.05

        let blas: OpenBLAS
        do { blas = try OpenBLAS() } catch {
            FileHandle.standardError.write("KernelsBench: \(error)\n".data(using: .utf8)!)
            exit(1)
        }

        print("KernelsBench: Kernels \(KernelConfig.detectedISA) (bf16 dot: \(KernelConfig.cpuHasBF16)) vs OpenBLAS \(blas.config), core \(blas.coreName)")
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

        for c in cases {
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
                x.withUnsafeBufferPointer { xp in w.withUnsafeBufferPointer { wp in
                    yOurs.withUnsafeMutableBufferPointer { yo in yBlas.withUnsafeMutableBufferPointer { yb in
                        let xa = xp.baseAddress!, wa = wp.baseAddress!, ya = yo.baseAddress!, ba = yb.baseAddress!
                        // warm-up (thread wake, page faults, caches)
                        packed.forward(xa, rows: c.m, into: ya, pool: pool)
                        blas.linear(m: c.m, n: c.n, k: c.k, x: xa, w: wa, y: ba)
                        for _ in 0..<runs {
                            tBlas.append(timePerCall(minTime: minTime) { blas.linear(m: c.m, n: c.n, k: c.k, x: xa, w: wa, y: ba) })
                            tPacked.append(timePerCall(minTime: minTime) { packed.forward(xa, rows: c.m, into: ya, pool: pool) })
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
                    "packed_gbps": bwP, "openblas_gbps": bwO, "clock": threads == 1 ? "thread_cpu" : "wall", "load_average": load, "max_abs_diff_vs_openblas": Double(maxDiff),
                ])
            }
        }

        // MARK: - Summary

        func pick(_ group: String, _ threads: Int) -> [[String: Any]] {
            results.filter { ($0["group"] as! String) == group && ($0["threads"] as! Int) == threads }
        }
        func minOf(_ rows: [[String: Any]], _ key: String) -> Double { rows.map { $0[key] as! Double }.min() ?? 0 }
        let enc1 = pick("encoder", 1), enc2 = pick("encoder", 2)
        var speedups: [Double] = []
        for (a, b) in zip(enc1, enc2) { speedups.append((b["packed_gflops"] as! Double) / (a["packed_gflops"] as! Double)) }
        let summary: [String: Any] = [
            "encoder_min_packed_vs_openblas_1t": minOf(enc1, "packed_vs_openblas"),
            "encoder_min_sgemm_vs_openblas_1t": minOf(enc1, "sgemm_vs_openblas"),
            "encoder_min_2thread_speedup": speedups.min() ?? 0,
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
        ]
        let data = try JSONSerialization.data(withJSONObject: json, options: [.sortedKeys])
        print(String(data: data, encoding: .utf8)!)

    }
}
