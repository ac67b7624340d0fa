// Activations, layer norm, softmax, elementwise and reductions: optimised (per ISA) vs the
// reference on awkward lengths, plus exact values at known points. Tolerances: the
// vectorised exp has relative error ~2e-7 and erf absolute error 1.5e-7, so activations
// are checked to abs 2e-6 + rel 2e-6 over inputs in [-10, 10].
import Kernels
import TestSupport
import XCTest

final class PointwiseTests: XCTestCase {
    let lengths = [1, 3, 7, 33, 257, 1000, 70_001]

    func testActivationsMatchReferenceOnEveryISA() {
        var rng = SeededRandom(seed: 10)
        for n in lengths {
            var x = rng.floats(n, -10, 10)
            if n > 10 { x[0] = 0; x[1] = -0.0; x[2] = 100; x[3] = -100; x[4] = 1e-6 }
            for act in Activation.allCases {
                let expected = x.map { act.reference($0) }
                forEachISA { isa in
                    var y = [Float](repeating: .nan, count: n)
                    act.apply(x, count: n, into: &y)
                    assertClose(y, expected, abs: 2e-6, rel: 2e-6, "\(act) \(isa) n=\(n)")
                    var inPlace = x
                    inPlace.withUnsafeMutableBufferPointer { act.apply($0.baseAddress!, count: n, into: $0.baseAddress!) }
                    XCTAssertEqual(inPlace, y, "\(act) \(isa) in place differs from out of place")
                }
            }
        }
    }

    func testActivationKnownValues() {
        // PyTorch: gelu(1) = 0.8413447, gelu(1, approximate='tanh') = 0.8411920,
        // silu(1) = 0.7310586, hardswish(1) = 0.6666667, hardsigmoid(-1) = 0.3333333
        forEachISA { isa in
            var v: [Float] = [1]
            gelu(&v, count: 1); XCTAssertEqual(v[0], 0.841_344_7, accuracy: 1e-6, "\(isa)")
            v = [1]; geluTanh(&v, count: 1); XCTAssertEqual(v[0], 0.841_192_0, accuracy: 1e-6, "\(isa)")
            v = [1]; silu(&v, count: 1); XCTAssertEqual(v[0], 0.731_058_6, accuracy: 1e-6, "\(isa)")
            v = [1]; hardSwish(&v, count: 1); XCTAssertEqual(v[0], 0.666_666_7, accuracy: 1e-6, "\(isa)")
            v = [-1]; hardSigmoid(&v, count: 1); XCTAssertEqual(v[0], 0.333_333_3, accuracy: 1e-6, "\(isa)")
            v = [-2, 3, 7]; relu6(&v, count: 3); XCTAssertEqual(v, [0, 3, 6], "\(isa)")
            v = [-2, 3]; relu(&v, count: 2); XCTAssertEqual(v, [0, 3], "\(isa)")
        }
    }

    func testLayerNormMatchesReference() {
        var rng = SeededRandom(seed: 11)
        for (rows, cols) in [(1, 1), (3, 7), (7, 33), (33, 257), (257, 512), (2, 1000)] {
            let x = rng.floats(rows * cols, -3, 5), g = rng.floats(cols), b = rng.floats(cols)
            var expected = [Float](repeating: 0, count: rows * cols)
            layerNormReference(x, rows: rows, cols: cols, gamma: g, beta: b, eps: 1e-5, out: &expected)
            forEachISA { isa in
                var y = [Float](repeating: .nan, count: rows * cols)
                layerNorm(x, rows: rows, cols: cols, gamma: g, beta: b, eps: 1e-5, out: &y)
                assertClose(y, expected, abs: 1e-5, rel: 1e-5, "layerNorm \(isa) \(rows)x\(cols)")
                var plain = [Float](repeating: .nan, count: rows * cols)
                layerNorm(x, rows: rows, cols: cols, gamma: nil, beta: nil, eps: 1e-5, out: &plain)
                var plainRef = [Float](repeating: 0, count: rows * cols)
                layerNormReference(x, rows: rows, cols: cols, gamma: nil, beta: nil, eps: 1e-5, out: &plainRef)
                assertClose(plain, plainRef, abs: 1e-5, rel: 1e-5, "layerNorm no affine \(isa) \(rows)x\(cols)")
            }
        }
        // Known value: row [1, 2, 3] -> [-1.2247, 0, 1.2247] (eps 0)
        var y = [Float](repeating: 0, count: 3)
        layerNorm([1, 2, 3], rows: 1, cols: 3, gamma: nil, beta: nil, eps: 0, out: &y)
        XCTAssertEqual(y[0], -1.224_744_9, accuracy: 1e-5)
        XCTAssertEqual(y[2], 1.224_744_9, accuracy: 1e-5)
    }

    func testSoftmaxMatchesReferenceAndHandlesMaskedEntries() {
        var rng = SeededRandom(seed: 12)
        for (rows, cols) in [(1, 1), (3, 7), (7, 33), (33, 257), (5, 1000)] {
            var x = rng.floats(rows * cols, -20, 20)
            if cols > 3 { x[1] = -.infinity } // a masked logit must come out exactly 0
            var expected = x
            softmaxReference(&expected, rows: rows, cols: cols)
            forEachISA { isa in
                var y = x
                softmax(&y, rows: rows, cols: cols)
                assertClose(y, expected, abs: 1e-6, rel: 1e-5, "softmax \(isa) \(rows)x\(cols)")
                if cols > 3 { XCTAssertEqual(y[1], 0, "masked logit \(isa)") }
                for r in 0..<rows {
                    XCTAssertEqual(y[r * cols..<(r + 1) * cols].reduce(0, +), 1, accuracy: 1e-5, "row sum \(isa)")
                }
            }
        }
        var v: [Float] = [0, log(3)] // softmax = [0.25, 0.75]
        softmax(&v, rows: 1, cols: 2)
        XCTAssertEqual(v[0], 0.25, accuracy: 1e-6)
        XCTAssertEqual(v[1], 0.75, accuracy: 1e-6)
    }

    func testArgmaxMatchesReferenceOnEveryPath() throws {
        // Lengths around the 16-element blocks, the maximum early, late and tied, NaNs in between.
        var rng = SeededRandom(seed: 31)
        for n in [1, 7, 16, 17, 33, 18_385] {
            for place in [0, n / 2, n - 1] {
                var x = rng.floats(n)
                x[place] = 2
                if n > 3 { x[(place + 3) % n] = 2; x[(place + 1) % n] = .nan }
                let expected = argmaxReference(x, count: n)
                try forEachISA { isa in XCTAssertEqual(argmax(x, count: n), expected, "\(isa) n=\(n) place=\(place)") }
            }
        }
    }

    func testElementwiseAndReductions() {
        let a: [Float] = [1, -2, 3, 7, 0.5, 2, 2, 9, -1]
        let b: [Float] = [2, 2, 2, 2, 2, 2, 2, 2, 2]
        var y = [Float](repeating: 0, count: 9)
        add(a, b, count: 9, into: &y)
        XCTAssertEqual(y, [3, 0, 5, 9, 2.5, 4, 4, 11, 1])
        mul(a, b, count: 9, into: &y)
        XCTAssertEqual(y, [2, -4, 6, 14, 1, 4, 4, 18, -2])
        XCTAssertEqual(sum(a, count: 9), 21.5)
        XCTAssertEqual(maxValue(a, count: 9), 9)
        XCTAssertEqual(argmax(a, count: 9), 7)
        XCTAssertNil(argmax(a, count: 0))
        XCTAssertEqual(argmax([Float.nan, 1, 3, 3], count: 4), 2) // NaNs skipped, the first of a tie
        XCTAssertEqual(argmax([Float.nan, .nan], count: 2), 0)
        XCTAssertEqual(logSumExp([0, 0, 0, 0], count: 4), log(4), accuracy: 1e-6)
        XCTAssertEqual(logSumExp([1000, 1000], count: 2), 1000 + log(2), accuracy: 1e-3) // no overflow
        XCTAssertEqual(logSumExp([-.infinity, -.infinity], count: 2), -.infinity)
        var m: [Float] = [1, 2, 3, 4, 5, 6] // (2, 3)
        addBias(&m, rows: 2, cols: 3, bias: [10, 20, 30])
        XCTAssertEqual(m, [11, 22, 33, 14, 25, 36])
    }

    func testHalfPrecisionConversions() {
        XCTAssertEqual(HalfPrecision.float16ToFloat(0x3C00), 1)
        XCTAssertEqual(HalfPrecision.float16ToFloat(0xC000), -2)
        XCTAssertEqual(HalfPrecision.float16ToFloat(0x7BFF), 65504)
        XCTAssertEqual(HalfPrecision.float16ToFloat(0x0001), 5.960_464_5e-8) // smallest subnormal
        XCTAssertEqual(HalfPrecision.float16ToFloat(0x7C00), .infinity)
        XCTAssertTrue(HalfPrecision.float16ToFloat(0x7E00).isNaN)
        XCTAssertEqual(HalfPrecision.floatToBFloat16(1), 0x3F80)
        XCTAssertEqual(HalfPrecision.floatToBFloat16(Float(bitPattern: 0x3F80_8000)), 0x3F80) // tie -> even
        XCTAssertEqual(HalfPrecision.floatToBFloat16(Float(bitPattern: 0x3F81_8000)), 0x3F82) // tie -> even (up)
        XCTAssertEqual(HalfPrecision.bfloat16ToFloat(0x4049), 3.140_625)
        for bits: UInt16 in [0, 0x3555, 0x8001, 0x3C01, 0x7BFF] {
            XCTAssertEqual(Float(Float16(bitPattern: bits)), HalfPrecision.float16ToFloat(bits), "fp16 \(bits)")
        }
    }

    func testTensorShapesAndErrors() throws {
        let t = try Tensor(shape: [2, 3], data: [1, 2, 3, 4, 5, 6])
        XCTAssertEqual(t.strides, [3, 1])
        XCTAssertEqual(t[[1, 2]], 6)
        XCTAssertEqual(try t.reshaped([3, 2]).shape, [3, 2])
        XCTAssertThrowsError(try Tensor(shape: [2, 2], data: [1, 2, 3])) { error in
            XCTAssertEqual(error as? KernelError, .shapeMismatch(what: "Tensor", shape: [2, 2], expectedCount: 4, actualCount: 3))
        }
        let w = try WeightTensor(shape: [2], storage: .float16([0x3C00, 0xC000]))
        XCTAssertEqual(w.floats(), [1, -2])
        XCTAssertThrowsError(try WeightTensor(shape: [3], storage: .bfloat16([1])))
    }

    /// Whisper's use: log-sum-exp over a vocabulary-sized row of logits with suppressed
    /// (−inf) entries, on every ISA path against the libm reference; odd lengths for the tails.
    func testLogSumExpMatchesReferenceOnEveryISA() {
        var rng = SplitMix64(seed: 7)
        for count in [1, 15, 16, 17, 1501, 51865] {
            var row = (0..<count).map { _ in (rng.nextFloat() - 0.5) * 40 } // logits of order ±20
            for i in stride(from: 3, to: count, by: 97) { row[i] = -.infinity }
            let reference = logSumExpReference(row, count: count)
            forEachISA { isa in
                XCTAssertEqual(logSumExp(row, count: count), reference, accuracy: 2e-6 * max(1, abs(reference)), "\(isa) n=\(count)")
            }
        }
    }
}
