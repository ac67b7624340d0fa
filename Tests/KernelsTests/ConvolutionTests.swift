// conv1d / conv2d (im2col + GEMM, direct depthwise) against the direct-loop references on
// awkward shapes, every ISA path, plus a hand-computed case and batch-norm folding.
// Tolerance abs 1e-4 + rel 1e-4 (fp32 sums of up to a few hundred products in [-1, 1]).
import Kernels
import XCTest

final class ConvolutionTests: XCTestCase {
    func testConv1dMatchesReference() throws {
        var rng = SeededRandom(seed: 20)
        let shapes = [
            Conv1dShape(inChannels: 1, outChannels: 1, length: 1, kernel: 1),
            Conv1dShape(inChannels: 3, outChannels: 7, length: 33, kernel: 3, padding: 1),           // Whisper conv1 style
            Conv1dShape(inChannels: 7, outChannels: 33, length: 257, kernel: 3, stride: 2, padding: 1), // Whisper conv2 style
            Conv1dShape(inChannels: 6, outChannels: 9, length: 100, kernel: 5, stride: 3, padding: 2, dilation: 2, groups: 3),
            Conv1dShape(inChannels: 80, outChannels: 64, length: 1000, kernel: 3, padding: 1),
        ]
        for s in shapes {
            let x = rng.floats(s.inChannels * s.length)
            let w = rng.floats(s.outChannels * (s.inChannels / s.groups) * s.kernel), b = rng.floats(s.outChannels)
            var expected = [Float](repeating: 0, count: s.outChannels * s.outLength)
            conv1dReference(x, shape: s, weight: w, bias: b, output: &expected)
            try forEachISA { isa in
                var y = [Float](repeating: .nan, count: s.outChannels * s.outLength)
                try conv1d(x, shape: s, weight: w, bias: b, output: &y)
                assertClose(y, expected, abs: 1e-4, rel: 1e-4, "conv1d \(isa) \(s)")
            }
        }
    }

    func testConv2dWithPackedWeightsMatchesReference() throws {
        // conv2d(packed:) — shifted rows of the padded input at stride 1, im2col columns otherwise,
        // the input itself for 1×1 — through a channels-first PointwiseConv, against the direct
        // loop, with bias, every ISA path, 1 and 2 threads.
        // Tolerance abs 1e-4 + rel 1e-4 as above.
        var rng = SeededRandom(seed: 23)
        let shapes = [
            Conv2dShape(inChannels: 3, outChannels: 16, height: 33, width: 17, kernel: 3, stride: 2, padding: 1),
            Conv2dShape(inChannels: 16, outChannels: 24, height: 7, width: 11, kernel: 1),
            Conv2dShape(inChannels: 12, outChannels: 10, height: 20, width: 9, kernel: 3, stride: 1, padding: 1),
            Conv2dShape(inChannels: 5, outChannels: 7, height: 10, width: 10, kernel: 3, stride: 1, padding: 2, dilation: 2),
            // Unpadded (written in place), and enough work to be split over two threads.
            Conv2dShape(inChannels: 8, outChannels: 40, height: 12, width: 70, kernel: 3, stride: 1, padding: 0),
            Conv2dShape(inChannels: 24, outChannels: 20, height: 40, width: 50, kernel: 3, stride: 1, padding: 1),
        ]
        let pools = [ThreadPool(threads: 1), ThreadPool(threads: 2)]
        for s in shapes {
            let kdim = s.inChannels * s.kernelH * s.kernelW
            let x = rng.floats(s.inChannels * s.height * s.width), w = rng.floats(s.outChannels * kdim), b = rng.floats(s.outChannels)
            let outCount = s.outChannels * s.outHeight * s.outWidth
            var expected = [Float](repeating: 0, count: outCount)
            conv2dReference(x, shape: s, weight: w, bias: b, output: &expected)
            try forEachISA { isa in
                let packed = try PointwiseConv(weight: w, outChannels: s.outChannels, inChannels: kdim, bias: b, layout: .channelsFirst)
                for pool in pools {
                    var y = [Float](repeating: .nan, count: outCount)
                    try conv2d(x, shape: s, packed: packed, output: &y, pool: pool)
                    assertClose(y, expected, abs: 1e-4, rel: 1e-4, "conv2d packed \(isa) threads=\(pool.threadCount) \(s)")
                }
            }
        }
        let s = shapes[0]
        let wrong = try PointwiseConv(weight: [Float](repeating: 0, count: 16 * 9), outChannels: 16, inChannels: 9, layout: .channelsFirst)
        var y = [Float](repeating: 0, count: s.outChannels * s.outHeight * s.outWidth)
        XCTAssertThrowsError(try conv2d([Float](repeating: 0, count: 3 * 33 * 17), shape: s, packed: wrong, output: &y))
    }

    func testConv2dMatchesReferenceIncludingDepthwiseAndGroups() throws {
        var rng = SeededRandom(seed: 21)
        let shapes = [
            Conv2dShape(inChannels: 3, outChannels: 7, height: 33, width: 17, kernel: 3, stride: 2, padding: 1), // stem
            Conv2dShape(inChannels: 7, outChannels: 7, height: 13, width: 9, kernel: 3, stride: 1, padding: 1, groups: 7), // depthwise
            Conv2dShape(inChannels: 33, outChannels: 33, height: 15, width: 15, kernel: 3, stride: 2, padding: 1, groups: 33),
            Conv2dShape(inChannels: 16, outChannels: 24, height: 7, width: 11, kernel: 1), // pointwise
            Conv2dShape(inChannels: 8, outChannels: 12, height: 10, width: 10, kernel: 3, stride: 1, padding: 2, dilation: 2, groups: 4),
            Conv2dShape(inChannels: 5, outChannels: 5, height: 1, width: 1, kernel: 3, padding: 1, groups: 5),
            Conv2dShape(inChannels: 6, outChannels: 6, height: 17, width: 33, kernel: 5, stride: 3, padding: 2, groups: 6),
            Conv2dShape(inChannels: 4, outChannels: 4, height: 12, width: 31, kernel: 3, stride: 2, padding: 2, dilation: 2, groups: 4),
            Conv2dShape(inChannels: 3, outChannels: 3, height: 8, width: 8, kernel: 3, stride: 2, padding: 0, groups: 3),
            // Output rows wide enough for the depthwise kernel's four-vector run, its single
            // vectors and a scalar tail; at stride 2 the phase planes' strided rows.
            Conv2dShape(inChannels: 3, outChannels: 3, height: 6, width: 45, kernel: 5, stride: 1, padding: 2, groups: 3),
            Conv2dShape(inChannels: 2, outChannels: 2, height: 7, width: 83, kernel: 3, stride: 2, padding: 1, groups: 2),
            // Four output rows at a time: two-vector runs, 8-column runs and a scalar tail, then
            // the rows left over; and a narrow plane such as a text line's.
            Conv2dShape(inChannels: 3, outChannels: 3, height: 13, width: 77, kernel: 5, stride: 1, padding: 2, groups: 3),
            Conv2dShape(inChannels: 4, outChannels: 4, height: 12, width: 12, kernel: 5, stride: 1, padding: 2, groups: 4),
            // Four rows ending in one whole vector (AVX-512: 32 + 16 columns), several channels
            // sharing the zeroed padding of one call's scratch, and a row left over.
            Conv2dShape(inChannels: 5, outChannels: 5, height: 9, width: 48, kernel: 5, stride: 1, padding: 2, groups: 5),
        ]
        for s in shapes {
            let x = rng.floats(s.inChannels * s.height * s.width)
            let w = rng.floats(s.outChannels * (s.inChannels / s.groups) * s.kernelH * s.kernelW), b = rng.floats(s.outChannels)
            let outCount = s.outChannels * s.outHeight * s.outWidth
            var expected = [Float](repeating: 0, count: outCount)
            conv2dReference(x, shape: s, weight: w, bias: b, output: &expected)
            try forEachISA { isa in
                var y = [Float](repeating: .nan, count: outCount)
                try conv2d(x, shape: s, weight: w, bias: b, output: &y)
                assertClose(y, expected, abs: 1e-4, rel: 1e-4, "conv2d \(isa) \(s)")
                var noBias = [Float](repeating: .nan, count: outCount)
                try conv2d(x, shape: s, weight: w, bias: nil, output: &noBias)
                var expectedNoBias = [Float](repeating: 0, count: outCount)
                conv2dReference(x, shape: s, weight: w, bias: nil, output: &expectedNoBias)
                assertClose(noBias, expectedNoBias, abs: 1e-4, rel: 1e-4, "conv2d no bias \(isa) \(s)")
            }
        }
    }

    func testConv1dHandComputed() throws {
        // x = [1, 2, 3, 4], kernel [1, 0, -1], padding 1 -> [0-2, 1-3, 2-4, 3-0] = [-2, -2, -2, 3]
        let s = Conv1dShape(inChannels: 1, outChannels: 1, length: 4, kernel: 3, padding: 1)
        var y = [Float](repeating: 0, count: 4)
        try conv1d([1, 2, 3, 4], shape: s, weight: [1, 0, -1], bias: nil, output: &y)
        XCTAssertEqual(y, [-2, -2, -2, 3])
    }

    func testInvalidConvShapesThrow() {
        var y = [Float](repeating: 0, count: 4)
        XCTAssertThrowsError(try conv1d([1], shape: Conv1dShape(inChannels: 1, outChannels: 1, length: 1, kernel: 3), weight: [1, 1, 1],
                                        bias: nil, output: &y))
        XCTAssertThrowsError(try conv2d([1, 2], shape: Conv2dShape(inChannels: 2, outChannels: 3, height: 1, width: 1, kernel: 1, groups: 2),
                                        weight: [1, 1, 1], bias: nil, output: &y))
    }

    func testBatchNormFoldingEqualsConvThenBatchNorm() throws {
        var rng = SeededRandom(seed: 22)
        let s = Conv2dShape(inChannels: 4, outChannels: 6, height: 9, width: 7, kernel: 3, padding: 1)
        let x = rng.floats(4 * 9 * 7), w = rng.floats(6 * 4 * 9), bias = rng.floats(6)
        let gamma = rng.floats(6, 0.5, 2), beta = rng.floats(6), mean = rng.floats(6), variance = rng.floats(6, 0.1, 3)
        let eps: Float = 1e-5
        let positions = s.outHeight * s.outWidth
        var convOut = [Float](repeating: 0, count: 6 * positions)
        conv2dReference(x, shape: s, weight: w, bias: bias, output: &convOut)
        var expected = convOut
        for o in 0..<6 {
            for p in 0..<positions {
                expected[o * positions + p] = (convOut[o * positions + p] - mean[o]) / (variance[o] + eps).squareRoot() * gamma[o] + beta[o]
            }
        }
        var folded = w
        let foldedBias = try foldBatchNorm(weight: &folded, bias: bias, outChannels: 6, gamma: gamma, beta: beta,
                                           runningMean: mean, runningVar: variance, eps: eps)
        var y = [Float](repeating: 0, count: 6 * positions)
        try conv2d(x, shape: s, weight: folded, bias: foldedBias, output: &y)
        assertClose(y, expected, abs: 1e-4, rel: 1e-4, "folded batch norm")
        XCTAssertThrowsError(try foldBatchNorm(weight: &folded, bias: nil, outChannels: 6, gamma: [1], beta: beta,
                                               runningMean: mean, runningVar: variance, eps: eps))
    }
}
