// The channels-last depthwise convolution against its reference at every ISA path and against
// the NCHW conv2d reference on transposed data, on MobileNetV2's shapes and awkward ones
// (channel counts that are not multiples of 8, 1-pixel inputs). Tolerance 1e-5 (fused
// multiply-adds and accumulation order differ; ≤ 9 taps).
import Kernels
import XCTest

final class DepthwiseNHWCTests: XCTestCase {
    private func random(_ n: Int, seed: inout UInt64) -> [Float] {
        (0..<n).map { _ in
            seed = seed &* 6364136223846793005 &+ 1442695040888963407
            return Float(Int64(bitPattern: seed >> 11) % 2001) / 1000 - 1
        }
    }

    func testMatchesReferenceAndNCHWConv() throws {
        var seed: UInt64 = 7
        let shapes: [(h: Int, w: Int, c: Int, k: Int, s: Int, p: Int)] = [
            (14, 14, 96, 3, 1, 1), (15, 9, 144, 3, 2, 1), (7, 7, 960, 3, 1, 1), (1, 1, 37, 3, 1, 1), (5, 6, 13, 3, 2, 1), (8, 8, 40, 5, 2, 2),
        ]
        for sh in shapes {
            let x = random(sh.h * sh.w * sh.c, seed: &seed), w = random(sh.k * sh.k * sh.c, seed: &seed), b = random(sh.c, seed: &seed)
            let (oh, ow) = try depthwiseNHWCOutput(height: sh.h, width: sh.w, channels: sh.c, kernel: sh.k, stride: sh.s, padding: sh.p)
            var expected = [Float](repeating: 0, count: oh * ow * sh.c)
            depthwiseConv2dNHWCReference(x, height: sh.h, width: sh.w, channels: sh.c, kernel: sh.k, stride: sh.s, padding: sh.p,
                                         weight: w, bias: b, relu6: false, output: &expected)
            // The NCHW reference on the same numbers transposed: (C, H, W) input, (C, 1, k, k) weights.
            let xc = (0..<(sh.c * sh.h * sh.w)).map { i in x[((i % (sh.h * sh.w)) * sh.c) + i / (sh.h * sh.w)] }
            let wc = (0..<(sh.c * sh.k * sh.k)).map { i in w[(i % (sh.k * sh.k)) * sh.c + i / (sh.k * sh.k)] }
            var nchw = [Float](repeating: 0, count: sh.c * oh * ow)
            conv2dReference(xc, shape: Conv2dShape(inChannels: sh.c, outChannels: sh.c, height: sh.h, width: sh.w, kernel: sh.k,
                                                   stride: sh.s, padding: sh.p, groups: sh.c), weight: wc, bias: b, output: &nchw)
            for i in 0..<expected.count {
                XCTAssertEqual(expected[i], nchw[(i % sh.c) * oh * ow + i / sh.c], accuracy: 1e-5, "\(sh)")
            }
            for isa in KernelConfig.availableISAs {
                KernelConfig.isa = isa
                for relu6 in [false, true] {
                    var got = [Float](repeating: .nan, count: expected.count)
                    try depthwiseConv2dNHWC(x, height: sh.h, width: sh.w, channels: sh.c, kernel: sh.k, stride: sh.s, padding: sh.p,
                                            weight: w, bias: b, relu6: relu6, output: &got, pool: ThreadPool(threads: 2))
                    let want = relu6 ? expected.map { min(max($0, 0), 6) } : expected
                    let worst = zip(got, want).map { abs($0 - $1) }.max() ?? 0
                    XCTAssertLessThan(worst, 1e-5, "\(sh) \(isa) relu6 \(relu6)")
                }
            }
            KernelConfig.isa = KernelConfig.detectedISA
        }
    }

    func testRejectsAnInputSmallerThanTheKernel() {
        XCTAssertThrowsError(try depthwiseNHWCOutput(height: 1, width: 1, channels: 8, kernel: 3, stride: 1, padding: 0))
    }
}
