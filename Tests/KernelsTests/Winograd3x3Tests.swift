// Winograd3x3Conv (F(2×2, 3×3)) against the direct conv2d reference on every ISA path, at 1
// and 2 threads, with every activation: odd and even heights and widths (a last tile half
// outside), widths below and above one vector of tiles, channel counts that are not
// multiples of the register block. Tolerance abs 2e-4 + rel 1e-4: the transforms add up to
// 16 terms before the products, so rounding differs more than a reordered direct sum.
import Kernels
import XCTest

final class Winograd3x3Tests: XCTestCase {
    func testMatchesDirectConvolutionOnEveryPathAndActivation() throws {
        var rng = SeededRandom(seed: 33)
        // (in, out, height, width)
        let shapes = [(1, 1, 1, 1), (3, 5, 2, 3), (8, 24, 7, 9), (16, 25, 10, 34), (96, 24, 9, 61), (5, 13, 33, 4)]
        for (inC, outC, h, w) in shapes {
            let x = rng.floats(inC * h * w)
            let weight = rng.floats(outC * inC * 9, -0.5, 0.5)
            let bias = rng.floats(outC)
            let shape = Conv2dShape(inChannels: inC, outChannels: outC, height: h, width: w, kernel: 3, padding: 1)
            var direct = [Float](repeating: 0, count: outC * h * w)
            conv2dReference(x, shape: shape, weight: weight, bias: bias, output: &direct)
            for activation in [PointwiseConv.Activation.none, .relu, .relu6, .hardSwish] {
                let want = direct.map { v -> Float in
                    switch activation {
                    case .none: return v
                    case .relu: return max(v, 0)
                    case .relu6: return min(max(v, 0), 6)
                    case .hardSwish: return v * min(max(v + 3, 0), 6) / 6
                    }
                }
                let conv = try Winograd3x3Conv(weight: weight, bias: bias, inChannels: inC, outChannels: outC, activation: activation)
                try forEachISA { isa in
                    for threads in [1, 2] {
                        var y = [Float](repeating: .nan, count: outC * h * w)
                        try conv.forward(x, height: h, width: w, into: &y, pool: ThreadPool(threads: threads))
                        assertClose(y, want, abs: 2e-4, rel: 1e-4, "\(inC)->\(outC) \(h)x\(w) \(activation) \(isa) threads=\(threads)")
                    }
                }
            }
        }
    }

    func testRejectsWeightsOfTheWrongSize() {
        XCTAssertThrowsError(try Winograd3x3Conv(weight: [Float](repeating: 0, count: 10), bias: nil, inChannels: 1, outChannels: 1))
        XCTAssertThrowsError(try Winograd3x3Conv(weight: [Float](repeating: 0, count: 9), bias: [0, 0], inChannels: 1, outChannels: 1))
    }
}
