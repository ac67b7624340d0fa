// Max pooling (PyTorch's ceil_mode output sizes), PReLU and the channel-major batched conv2d
// against their references on every ISA path, plus hand-computed cases. Max pooling and
// PReLU are exact (no arithmetic beyond a compare and one product), so they are compared
// bit for bit; the batched conv sums up to a few hundred products: abs 1e-4 + rel 1e-4.
import Kernels
import XCTest

final class PoolingPReLUTests: XCTestCase {
    func testMaxPoolOutputSizesFollowTorch() {
        // Values from torch.nn.MaxPool2d(k, s, ceil_mode=...)(torch.zeros(1, 1, n, n)).shape.
        XCTAssertEqual(maxPoolOutputSize(10, kernel: 3, stride: 2, ceilMode: true), 5)
        XCTAssertEqual(maxPoolOutputSize(10, kernel: 3, stride: 2, ceilMode: false), 4)
        XCTAssertEqual(maxPoolOutputSize(22, kernel: 3, stride: 2, ceilMode: true), 11) // R-Net pool1 on 24x24 conv1
        XCTAssertEqual(maxPoolOutputSize(9, kernel: 3, stride: 2, ceilMode: true), 4)   // R-Net pool2
        XCTAssertEqual(maxPoolOutputSize(21, kernel: 2, stride: 2, ceilMode: true), 11)
        XCTAssertEqual(maxPoolOutputSize(21, kernel: 2, stride: 2, ceilMode: false), 10)
        XCTAssertEqual(maxPoolOutputSize(4, kernel: 2, stride: 2, ceilMode: true), 2)
        XCTAssertEqual(maxPoolOutputSize(2, kernel: 3, stride: 2, ceilMode: true), 1)
        XCTAssertEqual(maxPoolOutputSize(1, kernel: 3, stride: 2, ceilMode: true), 0)
        XCTAssertEqual(maxPoolOutputSize(2, kernel: 3, stride: 2, ceilMode: false), 0)
    }

    func testMaxPoolHandComputedCeilMode() {
        // 1 plane 3x3, kernel 2 stride 2 ceil: windows {0,1}x{0,1}, {0,1}x{2}, {2}x{0,1}, {2}x{2}.
        let x: [Float] = [1, 5, 2,
                          3, -1, 7,
                          -4, 6, 0]
        var y = [Float](repeating: .nan, count: 4)
        maxPool2d(x, planes: 1, height: 3, width: 3, kernel: 2, stride: 2, ceilMode: true, output: &y)
        XCTAssertEqual(y, [5, 7, 6, 0])
    }

    func testMaxPoolMatchesReference() {
        var rng = SeededRandom(seed: 40)
        let cases: [(planes: Int, h: Int, w: Int, k: Int, s: Int, ceil: Bool)] = [
            (10, 46, 63, 2, 2, true), (28, 22, 22, 3, 2, true), (48, 9, 9, 3, 2, true), (64, 10, 10, 2, 2, true),
            (3, 17, 12, 3, 2, false), (2, 2, 5, 3, 2, true), (5, 7, 7, 3, 3, true),
        ]
        for c in cases {
            let x = rng.floats(c.planes * c.h * c.w)
            let oh = maxPoolOutputSize(c.h, kernel: c.k, stride: c.s, ceilMode: c.ceil)
            let ow = maxPoolOutputSize(c.w, kernel: c.k, stride: c.s, ceilMode: c.ceil)
            var expected = [Float](repeating: .nan, count: c.planes * oh * ow)
            maxPool2dReference(x, planes: c.planes, height: c.h, width: c.w, kernel: c.k, stride: c.s, ceilMode: c.ceil,
                               output: &expected)
            forEachISA { isa in
                var y = [Float](repeating: .nan, count: expected.count)
                maxPool2d(x, planes: c.planes, height: c.h, width: c.w, kernel: c.k, stride: c.s, ceilMode: c.ceil, output: &y)
                XCTAssertEqual(y, expected, "maxPool2d \(isa) \(c)")
            }
        }
    }

    func testPReLUHandComputedAndMatchesReference() {
        var x: [Float] = [2, -2, 0, -1, 3, -4]
        prelu(&x, channels: 2, planeCount: 3, slope: [0.5, 0.25])
        XCTAssertEqual(x, [2, -1, 0, -0.25, 3, -1])

        var rng = SeededRandom(seed: 41)
        let channels = 32, plane = 1000
        let input = rng.floats(channels * plane), slope = rng.floats(channels)
        var expected = input
        preluReference(&expected, channels: channels, planeCount: plane, slope: slope)
        forEachISA { isa in
            var y = input
            prelu(&y, channels: channels, planeCount: plane, slope: slope)
            XCTAssertEqual(y, expected, "prelu \(isa)")
        }
        var rows = input
        preluRows(&rows, rows: plane, channels: channels, slope: slope)
        var rowsRef = input
        withReference { preluRows(&rowsRef, rows: plane, channels: channels, slope: slope) }
        XCTAssertEqual(rows, rowsRef)
        XCTAssertEqual(rows[1 * channels + 3], input[1 * channels + 3] > 0 ? input[1 * channels + 3] : slope[3] * input[1 * channels + 3])
    }

    func testConv2dBatchMatchesPerImageConvolution() throws {
        var rng = SeededRandom(seed: 42)
        let shapes = [
            Conv2dShape(inChannels: 3, outChannels: 28, height: 24, width: 24, kernel: 3),  // R-Net conv1
            Conv2dShape(inChannels: 48, outChannels: 64, height: 4, width: 4, kernel: 2),   // R-Net conv3
            Conv2dShape(inChannels: 32, outChannels: 2, height: 5, width: 7, kernel: 1),    // P-Net conv4_1
            Conv2dShape(inChannels: 4, outChannels: 6, height: 9, width: 8, kernel: 3, stride: 2, padding: 1),
        ]
        for s in shapes {
            for batch in [1, 3] {
                let x = rng.floats(s.inChannels * batch * s.height * s.width)
                let w = rng.floats(s.outChannels * s.inChannels * s.kernelH * s.kernelW), b = rng.floats(s.outChannels)
                let per = s.outHeight * s.outWidth
                var expected = [Float](repeating: .nan, count: s.outChannels * batch * per)
                conv2dBatchReference(x, batch: batch, shape: s, weight: w, bias: b, output: &expected)
                // The reference itself against conv2dReference image by image (channel-major gather).
                for n in 0..<batch {
                    var image = [Float](repeating: 0, count: s.inChannels * s.height * s.width)
                    for c in 0..<s.inChannels {
                        for i in 0..<(s.height * s.width) { image[c * s.height * s.width + i] = x[(c * batch + n) * s.height * s.width + i] }
                    }
                    var single = [Float](repeating: 0, count: s.outChannels * per)
                    conv2dReference(image, shape: s, weight: w, bias: b, output: &single)
                    var gathered = [Float](repeating: 0, count: s.outChannels * per)
                    for o in 0..<s.outChannels {
                        for i in 0..<per { gathered[o * per + i] = expected[(o * batch + n) * per + i] }
                    }
                    assertClose(gathered, single, abs: 1e-5, rel: 1e-5, "conv2dBatchReference image \(n) \(s)")
                }
                try forEachISA { isa in
                    var y = [Float](repeating: .nan, count: expected.count)
                    try conv2dBatch(x, batch: batch, shape: s, weight: w, bias: b, output: &y)
                    assertClose(y, expected, abs: 1e-4, rel: 1e-4, "conv2dBatch \(isa) batch \(batch) \(s)")
                }
            }
        }
        XCTAssertThrowsError(try conv2dBatch([0, 0], batch: 1, shape: Conv2dShape(inChannels: 2, outChannels: 2, height: 1,
                                                                                     width: 1, kernel: 1, groups: 2),
                                             weight: [0, 0], bias: nil, output: UnsafeMutablePointer<Float>.allocate(capacity: 2)))
    }
}
