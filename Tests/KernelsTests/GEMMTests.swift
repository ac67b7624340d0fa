// sgemm / sgemmBatched / PackedLinear against the plain reference on awkward shapes, for
// every ISA path the CPU can run and for 1 and 2 threads. Tolerance: fp32 accumulation in a
// different order gives errors ~ k * 2^-24 * sum|a||b|; inputs in [-1, 1] and k <= 1000
// keep that below 1e-4 absolute, so abs 2e-4 + rel 1e-4 is stated for fp32.
import Kernels
import XCTest

final class GEMMTests: XCTestCase {
    let pools = [ThreadPool(threads: 1), ThreadPool(threads: 2)]

    func testSgemmMatchesReferenceOnAwkwardShapes() {
        var rng = SeededRandom(seed: 1)
        let dims = [1, 3, 7, 33, 257]
        let shapes: [(Int, Int, Int)] = [(1, 1, 1), (3, 7, 33), (33, 257, 7), (257, 33, 3), (7, 1000, 257), (1000, 3, 33),
                                         (13, 40, 300), (100, 100, 100), (1, 3000, 512), (2, 700, 1000), (4, 1500, 200),
                                         (5, 64, 1500), (8, 100, 64), (6, 16, 5)] + dims.map { ($0, 17, 257) }
        for (m, n, k) in shapes {
            for (ta, tb) in [(false, false), (true, false), (false, true), (true, true)] {
                let a = rng.floats(m * k), b = rng.floats(k * n), c0 = rng.floats(m * n)
                let lda = ta ? m : k, ldb = tb ? k : n
                var expected = c0
                withReference {
                    sgemmReference(transA: ta, transB: tb, m: m, n: n, k: k, alpha: 0.5, a: a, lda: lda, b: b, ldb: ldb,
                                   beta: 2, c: &expected, ldc: n)
                }
                forEachISA { isa in
                    for pool in pools {
                        var c = c0
                        sgemm(transA: ta, transB: tb, m: m, n: n, k: k, alpha: 0.5, a: a, lda: lda, b: b, ldb: ldb, beta: 2,
                              c: &c, ldc: n, pool: pool)
                        assertClose(c, expected, abs: 2e-4, rel: 1e-4, "sgemm \(isa) m\(m) n\(n) k\(k) tA\(ta) tB\(tb) threads \(pool.threadCount)")
                    }
                }
            }
        }
    }

    func testBetaZeroIgnoresGarbageInC() {
        let a: [Float] = [1, 2, 3, 4] // (2, 2)
        let b: [Float] = [5, 6, 7, 8] // (2, 2)
        forEachISA { isa in
            var c = [Float](repeating: .nan, count: 4)
            sgemm(m: 2, n: 2, k: 2, a: a, lda: 2, b: b, ldb: 2, c: &c, ldc: 2)
            XCTAssertEqual(c, [19, 22, 43, 50], "\(isa)")
        }
    }

    func testBatchedMatchesPerProblemReference() {
        var rng = SeededRandom(seed: 2)
        let (m, n, k, batch) = (33, 7, 65, 5)
        let a = rng.floats(batch * m * k), b = rng.floats(batch * n * k)
        var expected = [Float](repeating: 0, count: batch * m * n)
        for i in 0..<batch {
            a.withUnsafeBufferPointer { ap in b.withUnsafeBufferPointer { bp in expected.withUnsafeMutableBufferPointer { cp in
                sgemmReference(transB: true, m: m, n: n, k: k, a: ap.baseAddress! + i * m * k, lda: k, b: bp.baseAddress! + i * n * k,
                               ldb: k, c: cp.baseAddress! + i * m * n, ldc: n)
            } } }
        }
        forEachISA { isa in
            for pool in pools {
                var c = [Float](repeating: 0, count: batch * m * n)
                sgemmBatched(transB: true, m: m, n: n, k: k, a: a, lda: k, strideA: m * k, b: b, ldb: k, strideB: n * k,
                             c: &c, ldc: n, strideC: m * n, batch: batch, pool: pool)
                assertClose(c, expected, abs: 2e-4, rel: 1e-4, "batched \(isa) threads \(pool.threadCount)")
            }
        }
    }

    func testPackedLinearMatchesReference() throws {
        var rng = SeededRandom(seed: 3)
        for (rows, inF, outF) in [(1, 3, 7), (3, 33, 257), (7, 257, 33), (8, 512, 100), (33, 1000, 65), (257, 64, 1), (1, 257, 200), (2, 64, 130), (2, 7, 1000)] {
            let w = rng.floats(outF * inF), bias = rng.floats(outF), x = rng.floats(rows * inF)
            var expected = [Float](repeating: 0, count: rows * outF)
            for r in 0..<rows {
                for o in 0..<outF {
                    var s = bias[o]
                    for i in 0..<inF { s += x[r * inF + i] * w[o * inF + i] }
                    expected[r * outF + o] = s
                }
            }
            try forEachISA { isa in
                let layer = try PackedLinear(weight: w, outFeatures: outF, inFeatures: inF, bias: bias)
                for pool in pools {
                    var y = [Float](repeating: .nan, count: rows * outF)
                    layer.forward(x, rows: rows, into: &y, pool: pool)
                    assertClose(y, expected, abs: 2e-4, rel: 1e-4, "linear \(isa) \(rows)x\(inF)->\(outF) threads \(pool.threadCount)")
                }
                var yRef = [Float](repeating: .nan, count: rows * outF)
                withReference { layer.forward(x, rows: rows, into: &yRef) }
                assertClose(yRef, expected, abs: 2e-4, rel: 1e-4, "linear reference \(rows)x\(inF)->\(outF)")
            }
        }
    }

    /// bf16 storage: weights are rounded to bf16 at load; `.exact` must then equal the fp32
    /// product of x with those rounded weights (fp32 tolerance), and `.dotProduct` must equal
    /// that with x also rounded to bf16.
    func testBF16LinearMatchesRoundedReference() throws {
        var rng = SeededRandom(seed: 4)
        // (5, 512, 700) and (25, 512, 700): a decoder step's beams, alone and five utterances'
        // together, over many weight strips.
        for (rows, inF, outF) in [(1, 3, 7), (3, 33, 40), (20, 257, 33), (65, 64, 100), (5, 512, 700), (25, 512, 700)] {
            let w = rng.floats(outF * inF), x = rng.floats(rows * inF), bias = rng.floats(outF)
            let wr = w.map { HalfPrecision.roundedToBFloat16($0) }
            let xr = x.map { HalfPrecision.roundedToBFloat16($0) }
            for mode in [PackedLinear.BF16Compute.exact, .dotProduct] {
                let xs = mode == .exact ? x : xr
                var expected = [Float](repeating: 0, count: rows * outF)
                for r in 0..<rows { for o in 0..<outF {
                    var s = bias[o]
                    for i in 0..<inF { s += xs[r * inF + i] * wr[o * inF + i] }
                    expected[r * outF + o] = s
                } }
                try forEachISA { isa in
                    let layer = try PackedLinear(weight: w, outFeatures: outF, inFeatures: inF, bias: bias, storage: .bfloat16, bf16Compute: mode)
                    guard layer.storage == .bfloat16 else { return } // this path keeps fp32 weights
                    for pool in pools {
                        var y = [Float](repeating: .nan, count: rows * outF)
                        layer.forward(x, rows: rows, into: &y, pool: pool)
                        assertClose(y, expected, abs: 2e-4, rel: 1e-4, "bf16 \(mode) \(isa) \(rows)x\(inF)->\(outF) threads \(pool.threadCount)")
                    }
                }
                // Emulated where the CPU has no BF16 kernels: the same numbers from fp32 panels.
                try forEachISA { isa in
                    let layer = try PackedLinear(weight: w, outFeatures: outF, inFeatures: inF, bias: bias, storage: .bfloat16,
                                                 bf16Compute: mode, bf16Fallback: .emulate)
                    XCTAssertEqual(layer.emulatesBF16, layer.storage == .float32)
                    for pool in pools {
                        var y = [Float](repeating: .nan, count: rows * outF)
                        layer.forward(x, rows: rows, into: &y, pool: pool)
                        assertClose(y, expected, abs: 2e-4, rel: 1e-4, "bf16 emulated \(mode) \(isa) \(rows)x\(inF)->\(outF)")
                    }
                }
            }
        }
    }

    func testPackedLinearRejectsBadShapes() {
        XCTAssertThrowsError(try PackedLinear(weight: [1, 2, 3], outFeatures: 2, inFeatures: 2)) { error in
            XCTAssertEqual(error as? KernelError, .shapeMismatch(what: "PackedLinear weight", shape: [2, 2], expectedCount: 4, actualCount: 3))
        }
        XCTAssertThrowsError(try PackedLinear(weight: [1, 2, 3, 4], outFeatures: 2, inFeatures: 2, bias: [1]))
    }
}

final class PackedLinearInputTests: XCTestCase {
    /// fp16 and bf16 checkpoint bits load to the same layer as their exact fp32 values.
    func testHalfPrecisionWeightsLoadExactly() throws {
        // 0x3C00 = 1, 0xC000 = -2, 0x3800 = 0.5, 0x4200 = 3 (fp16); bf16 of the same values.
        let f16: [UInt16] = [0x3C00, 0xC000, 0x3800, 0x4200]
        let bf16: [UInt16] = [0x3F80, 0xC000, 0x3F00, 0x4040]
        let x: [Float] = [2, 5] // (1, 2)
        let expected: [Float] = [2 * 1 + 5 * -2, 2 * 0.5 + 5 * 3] // (1, 2): -8, 16
        let fromF16 = try PackedLinear(float16Weight: f16, outFeatures: 2, inFeatures: 2)
        let fromBF16 = try PackedLinear(bfloat16Weight: bf16, outFeatures: 2, inFeatures: 2)
        let fromTensor = try PackedLinear(weight: WeightTensor(shape: [2, 2], storage: .float16(f16)))
        for layer in [fromF16, fromBF16, fromTensor] {
            var y = [Float](repeating: .nan, count: 2)
            layer.forward(x, rows: 1, into: &y)
            XCTAssertEqual(y, expected)
            XCTAssertEqual(layer.weight(out: 1, in: 1), 3)
        }
        XCTAssertThrowsError(try PackedLinear(weight: WeightTensor(shape: [4], storage: .float16(f16))))
    }

    func testISARequestAboveTheCPUIsClamped() {
        let saved = KernelConfig.isa
        defer { KernelConfig.isa = saved }
        KernelConfig.isa = .avx512
        XCTAssertLessThanOrEqual(KernelConfig.isa, KernelConfig.detectedISA)
        KernelConfig.isa = .scalar
        XCTAssertEqual(KernelConfig.isa, .scalar)
        XCTAssertEqual(KernelConfig.availableISAs.first, .scalar)
    }
}
