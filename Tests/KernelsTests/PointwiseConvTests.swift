// PointwiseConv (1×1 convolution, packed weights, fused epilogue) against a plain loop over
// the unpacked weights, on every ISA path, both layouts, every activation, with and without
// a residual, at 1 and 2 threads. Shapes cover full tiles and ragged pixel and channel edges
// (counts that are not multiples of any tile size), MobileNet's small K/N, and more pixels than
// one channels-first chunk. Tolerance
// abs 1e-4 + rel 1e-5: sums of up to 160 products of magnitude <= 4, accumulated in a
// different order than the loop.
import Kernels
import XCTest

final class PointwiseConvTests: XCTestCase {
    /// y = act(x · Wᵀ + b) + r computed from the unpacked weight (out, in).
    private func expected(_ x: [Float], pixels: Int, weight w: [Float], bias b: [Float]?, inC: Int, outC: Int,
                          layout: PointwiseConv.Layout, activation: PointwiseConv.Activation, residual: [Float]?) -> [Float] {
        var y = [Float](repeating: 0, count: pixels * outC)
        let first = layout == .channelsFirst
        for p in 0..<pixels {
            for o in 0..<outC {
                var s = Double(b?[o] ?? 0)
                for i in 0..<inC { s += Double(x[first ? i * pixels + p : p * inC + i]) * Double(w[o * inC + i]) }
                var v = Float(s)
                switch activation {
                case .none: break
                case .relu: v = max(v, 0)
                case .relu6: v = min(max(v, 0), 6)
                case .hardSwish: v = v * min(max(v + 3, 0), 6) / 6
                }
                let at = first ? o * pixels + p : p * outC + o
                y[at] = v + (residual?[at] ?? 0)
            }
        }
        return y
    }

    func testMatchesPlainLoopOnEveryPathLayoutAndActivation() throws {
        var rng = SeededRandom(seed: 77)
        // (pixels, in, out)
        let shapes = [(1, 1, 1), (5, 3, 7), (37, 16, 24), (200, 32, 16), (100, 144, 24), (33, 6, 40), (49, 160, 97), (70, 24, 144),
                      (700, 160, 30), // channels-first copies 192 pixels at a time at K = 160: several chunks and a ragged one
                      (1, 512, 1280), (2, 40, 13), // channels-first on one or two pixels: the weights times each column
                      (48, 24, 40), (40, 20, 12)] // channels-first ending in exactly one vector (AVX-512, AVX2)
        let pools = [ThreadPool(threads: 1), ThreadPool(threads: 2)]
        for (pixels, inC, outC) in shapes {
            let x = rng.floats(pixels * inC).map { $0 * 4 }, w = rng.floats(outC * inC), b = rng.floats(outC)
            let r = rng.floats(pixels * outC)
            for layout in [PointwiseConv.Layout.channelsLast, .channelsFirst] {
                for activation in [PointwiseConv.Activation.none, .relu, .relu6, .hardSwish] {
                    for residual in [nil, r] {
                        let bias: [Float]? = activation == .relu ? nil : b
                        let want = expected(x, pixels: pixels, weight: w, bias: bias, inC: inC, outC: outC, layout: layout,
                                            activation: activation, residual: residual)
                        let what = "\(pixels)x\(inC)->\(outC) \(layout) \(activation) residual=\(residual != nil)"
                        try forEachISA { isa in
                            let conv = try PointwiseConv(weight: w, outChannels: outC, inChannels: inC, bias: bias, layout: layout,
                                                         activation: activation)
                            for pool in pools {
                                var y = [Float](repeating: .nan, count: pixels * outC)
                                try conv.forward(x, pixels: pixels, into: &y, residual: residual, pool: pool)
                                assertClose(y, want, abs: 1e-4, rel: 1e-5, "\(what) \(isa) threads=\(pool.threadCount)")
                            }
                            var ref = [Float](repeating: .nan, count: pixels * outC)
                            try withReference { try conv.forward(x, pixels: pixels, into: &ref, residual: residual, pool: pools[1]) }
                            assertClose(ref, want, abs: 1e-4, rel: 1e-5, "\(what) reference")
                        }
                    }
                }
            }
        }
    }

    func testHandComputedAndResidualInPlace() throws {
        // Two pixels, two input channels, three outputs; W = [[1, 2], [-1, 0], [0.5, 0.5]], bias [1, 0, -10].
        let w: [Float] = [1, 2, -1, 0, 0.5, 0.5], b: [Float] = [1, 0, -10]
        let x: [Float] = [1, 2, 3, -4] // channels-last: pixel 0 = (1, 2), pixel 1 = (3, -4)
        try forEachISA { isa in
            let conv = try PointwiseConv(weight: w, outChannels: 3, inChannels: 2, bias: b, layout: .channelsLast, activation: .relu6)
            var y = [Float](repeating: 0, count: 6)
            try conv.forward(x, pixels: 2, into: &y)
            XCTAssertEqual(y, [6, 0, 0, 0, 0, 0], "\(isa)") // (6, -1, -8.5) and (-4, -3, -10.5) clamped to [0, 6]
            // The residual may be the output itself.
            let plain = try PointwiseConv(weight: w, outChannels: 3, inChannels: 2, bias: b, layout: .channelsLast)
            var acc: [Float] = [10, 20, 30, 40, 50, 60]
            try acc.withUnsafeMutableBufferPointer { p in
                try plain.forward(x, pixels: 2, into: p.baseAddress!, residual: UnsafePointer(p.baseAddress!))
            }
            XCTAssertEqual(acc, [16, 19, 21.5, 36, 47, 49.5], "\(isa)")
        }
    }

    func testRejectsBadShapes() {
        XCTAssertThrowsError(try PointwiseConv(weight: [1, 2, 3], outChannels: 2, inChannels: 2, layout: .channelsLast))
        XCTAssertThrowsError(try PointwiseConv(weight: [1, 2], outChannels: 1, inChannels: 2, bias: [1, 2], layout: .channelsFirst))
        XCTAssertThrowsError(try PointwiseConv(weight: [], outChannels: 0, inChannels: 2, layout: .channelsFirst))
    }
}
