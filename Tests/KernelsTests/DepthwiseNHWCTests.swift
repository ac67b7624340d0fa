// Channels-last depthwise conv2d against its direct-loop reference on every ISA path:
// TensorFlow SAME padding on even and odd sides (the odd padding row after the data), channel
// counts that are and are not multiples of the vector width (and of the four-vector groups
// single columns use), ReLU6 on and off, 1×1 inputs.
// Tolerance abs 1e-5 + rel 1e-5 (nine products per output).
import Kernels
import XCTest

final class DepthwiseNHWCTests: XCTestCase {
    func testMatchesReferenceWithSamePadding() throws {
        var rng = SeededRandom(seed: 31)
        let shapes = [
            DepthwiseNHWCShape.same(channels: 32, height: 150, width: 150, kernel: 3, stride: 1),
            DepthwiseNHWCShape.same(channels: 96, height: 20, width: 16, kernel: 3, stride: 2), // even: pads (0, 1)
            DepthwiseNHWCShape.same(channels: 13, height: 19, width: 19, kernel: 3, stride: 2), // odd: pads (1, 1)
            DepthwiseNHWCShape.same(channels: 9, height: 2, width: 3, kernel: 3, stride: 2),
            DepthwiseNHWCShape.same(channels: 8, height: 1, width: 1, kernel: 3, stride: 1),
            DepthwiseNHWCShape.same(channels: 20, height: 11, width: 7, kernel: 5, stride: 3),
            // A single column takes four channel vectors at a time, then one, then scalars
            // (45 = 32 + 8 + 5); width 11 at stride 1 is one group of eight interior columns
            // (one vector at a time, then the scalar channels) and one column left over.
            DepthwiseNHWCShape.same(channels: 45, height: 6, width: 11, kernel: 3, stride: 1),
        ]
        XCTAssertEqual(shapes[1].padTop, 0)
        XCTAssertEqual(shapes[1].outHeight, 10)
        XCTAssertEqual(shapes[2].padTop, 1)
        for s in shapes {
            let x = rng.floats(s.height * s.width * s.channels).map { $0 * 4 }
            let w = rng.floats(s.kernelH * s.kernelW * s.channels), b = rng.floats(s.channels)
            for relu6 in [false, true] {
                var expected = [Float](repeating: 0, count: s.outHeight * s.outWidth * s.channels)
                depthwiseConv2dNHWCReference(x, shape: s, weight: w, bias: b, relu6: relu6, output: &expected)
                try forEachISA { isa in
                    var y = [Float](repeating: .nan, count: expected.count)
                    try depthwiseConv2dNHWC(x, shape: s, weight: w, bias: b, relu6: relu6, output: &y)
                    assertClose(y, expected, abs: 1e-5, rel: 1e-5, "depthwise NHWC \(isa) relu6=\(relu6) \(s)")
                }
            }
        }
    }

    func testHandComputedCorner() throws {
        // 2×2 input, one channel, 3×3 ones, SAME stride 1: each output sums its in-bounds neighbours.
        let s = DepthwiseNHWCShape.same(channels: 1, height: 2, width: 2, kernel: 3, stride: 1)
        var y = [Float](repeating: 0, count: 4)
        try depthwiseConv2dNHWC([1, 2, 3, 4], shape: s, weight: [Float](repeating: 1, count: 9), bias: [0.5], output: &y)
        XCTAssertEqual(y, [10.5, 10.5, 10.5, 10.5])
        try depthwiseConv2dNHWC([1, 2, 3, 4], shape: s, weight: [Float](repeating: 1, count: 9), bias: [0.5], relu6: true, output: &y)
        XCTAssertEqual(y, [6, 6, 6, 6])
    }

    func testRejectsAnOutputLargerThanThePaddedInput() {
        let s = DepthwiseNHWCShape(channels: 4, height: 5, width: 5, kernel: 3, stride: 1, padTop: 1, padLeft: 1, outHeight: 9, outWidth: 5)
        var y = [Float](repeating: 0, count: 9 * 5 * 4)
        XCTAssertThrowsError(try depthwiseConv2dNHWC([Float](repeating: 0, count: 100), shape: s, weight: [Float](repeating: 0, count: 36),
                                                     bias: nil, output: &y))
    }
}
