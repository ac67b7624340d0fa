// InvertedResidual (expansion, depthwise 3×3 with ReLU6 and projection fused in row bands)
// against its reference, the three reference kernels one after another, on every ISA path at
// 1 and 2 threads. Band budgets from one output row to the whole tensor cover a ring that
// wraps, bands that end at the image edge, per-thread seams and the three-pass fallback;
// shapes cover stride 1 with the residual, stride 2 with torchvision's padding (1 on every
// side) and TensorFlow's SAME (the odd row after the data), no expansion, channel counts that
// are not multiples of 8 and widths too narrow for the four-column interior loop.
// Tolerance abs 1e-4 + rel 1e-5: the same sums of up to 48 (expansion), 9 (depthwise) and
// 40 (projection) products of magnitude <= 4, accumulated in a different order.
import Kernels
import XCTest

final class InvertedResidualTests: XCTestCase {
    struct Case {
        let height, width, input, hidden, output, stride: Int
        let expand, residual, sameTF: Bool
    }

    func testMatchesReferenceOnEveryPathBandAndThreadCount() throws {
        var rng = SeededRandom(seed: 2024)
        let cases = [
            Case(height: 13, width: 11, input: 8, hidden: 24, output: 8, stride: 1, expand: true, residual: true, sameTF: false),
            Case(height: 14, width: 14, input: 16, hidden: 48, output: 24, stride: 2, expand: true, residual: false, sameTF: false),
            Case(height: 14, width: 14, input: 16, hidden: 48, output: 24, stride: 2, expand: true, residual: false, sameTF: true),
            Case(height: 9, width: 10, input: 12, hidden: 12, output: 8, stride: 1, expand: false, residual: false, sameTF: false),
            Case(height: 7, width: 3, input: 6, hidden: 20, output: 6, stride: 1, expand: true, residual: true, sameTF: false),
            Case(height: 15, width: 9, input: 5, hidden: 40, output: 7, stride: 2, expand: true, residual: false, sameTF: true),
        ]
        let pools = [ThreadPool(threads: 1), ThreadPool(threads: 2)]
        for c in cases {
            let x = rng.floats(c.height * c.width * c.input).map { $0 * 4 }
            let we = rng.floats(c.hidden * c.input), be = rng.floats(c.hidden)
            let wd = rng.floats(9 * c.hidden), bd = rng.floats(c.hidden)
            let wp = rng.floats(c.output * c.hidden), bp = rng.floats(c.output)
            let out = (c.height + c.stride - 1) / c.stride
            let pad = c.sameTF ? max((out - 1) * c.stride + 3 - c.height, 0) / 2 : 1
            let outH = c.sameTF ? out : (c.height + 2 - 3) / c.stride + 1
            let outW = c.sameTF ? (c.width + c.stride - 1) / c.stride : (c.width + 2 - 3) / c.stride + 1
            let padL = c.sameTF ? max((outW - 1) * c.stride + 3 - c.width, 0) / 2 : 1
            // Budgets (floats): one output row per band, a few rows, everything (three passes).
            let row = c.width * c.hidden
            for budget in [1, 4 * row + 2 * row, 1 << 30] {
                try forEachISA { isa in
                    let expand = c.expand ? try PointwiseConv(weight: we, outChannels: c.hidden, inChannels: c.input, bias: be,
                                                              layout: .channelsLast, activation: .relu6) : nil
                    let project = try PointwiseConv(weight: wp, outChannels: c.output, inChannels: c.hidden, bias: bp, layout: .channelsLast)
                    let block = try InvertedResidual(expand: expand, depthwiseWeight: wd, depthwiseBias: bd, kernel: 3, stride: c.stride,
                                                     project: project, residual: c.residual, bandBudget: budget)
                    let shape = block.shape(height: c.height, width: c.width, padTop: pad, padLeft: padL, outHeight: outH, outWidth: outW)
                    var want = [Float](repeating: .nan, count: outH * outW * c.output)
                    x.withUnsafeBufferPointer { xp in
                        want.withUnsafeMutableBufferPointer { block.forwardReference(xp.baseAddress!, shape: shape, into: $0.baseAddress!) }
                    }
                    XCTAssertFalse(want.contains { $0.isNaN })
                    for pool in pools {
                        var y = [Float](repeating: .nan, count: want.count)
                        try x.withUnsafeBufferPointer { xp in
                            try y.withUnsafeMutableBufferPointer { try block.forward(xp.baseAddress!, shape: shape, into: $0.baseAddress!, pool: pool) }
                        }
                        assertClose(y, want, abs: 1e-4, rel: 1e-5, "\(c) budget \(budget) \(isa) threads=\(pool.threadCount)")
                    }
                    // forceReference takes the reference path.
                    var ref = [Float](repeating: .nan, count: want.count)
                    try withReference {
                        try x.withUnsafeBufferPointer { xp in
                            try ref.withUnsafeMutableBufferPointer { try block.forward(xp.baseAddress!, shape: shape, into: $0.baseAddress!, pool: pools[1]) }
                        }
                    }
                    XCTAssertEqual(ref, want, "\(c) forced reference")
                }
            }
        }
    }

    func testRejectsMismatchedShapes() throws {
        let project = try PointwiseConv(weight: [Float](repeating: 0.5, count: 4 * 8), outChannels: 4, inChannels: 8, layout: .channelsLast)
        let dw = [Float](repeating: 0, count: 9 * 8), b = [Float](repeating: 0, count: 8)
        // A residual needs stride 1 and equal channel counts.
        XCTAssertThrowsError(try InvertedResidual(expand: nil, depthwiseWeight: dw, depthwiseBias: b, kernel: 3, stride: 1, project: project,
                                                  residual: true))
        XCTAssertThrowsError(try InvertedResidual(expand: nil, depthwiseWeight: Array(dw.dropLast()), depthwiseBias: b, kernel: 3, stride: 1,
                                                  project: project, residual: false))
        let block = try InvertedResidual(expand: nil, depthwiseWeight: dw, depthwiseBias: b, kernel: 3, stride: 2, project: project, residual: false)
        let x = [Float](repeating: 1, count: 4 * 4 * 8)
        var y = [Float](repeating: 0, count: 2 * 2 * 4)
        let wrongStride = DepthwiseNHWCShape(channels: 8, height: 4, width: 4, kernel: 3, stride: 1, padTop: 1, padLeft: 1, outHeight: 4, outWidth: 4)
        XCTAssertThrowsError(try x.withUnsafeBufferPointer { xp in
            try y.withUnsafeMutableBufferPointer { try block.forward(xp.baseAddress!, shape: wrongStride, into: $0.baseAddress!) }
        })
        // Depthwise all zeros with bias 0 → ReLU6 0 → the projection (no bias) gives 0 everywhere.
        let shape = block.shape(height: 4, width: 4, padTop: 1, padLeft: 1, outHeight: 2, outWidth: 2)
        try x.withUnsafeBufferPointer { xp in
            try y.withUnsafeMutableBufferPointer { try block.forward(xp.baseAddress!, shape: shape, into: $0.baseAddress!) }
        }
        XCTAssertEqual(y, [Float](repeating: 0, count: 16))
    }
}
