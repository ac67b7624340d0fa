// The network's ConvTranspose against a direct sum over every input pixel and weight: the
// tiling case (stride = kernel, DB's head, written once per output pixel, Relu on write) and
// an overlapping one (windows added into the plane).
import Kernels
@testable import OCR
import XCTest

final class ConvTransposeTests: XCTestCase {
    /// out[c][y·s + ky][x·s + kx] += Σ_i x[i][y][x] · w[i][c][ky][kx], plus the bias.
    private func direct(_ x: [Float], h: Int, w: Int, _ t: ONNXNetwork.ConvTransposeSpec, weight: [Float], bias: [Float]) -> [Float] {
        let oh = (h - 1) * t.strideH + t.kernelH, ow = (w - 1) * t.strideW + t.kernelW
        var out = [Float](repeating: 0, count: t.outChannels * oh * ow)
        for c in 0..<t.outChannels { for p in 0..<(oh * ow) { out[c * oh * ow + p] = bias[c] } }
        for i in 0..<t.inChannels {
            for y in 0..<h {
                for xx in 0..<w {
                    for c in 0..<t.outChannels {
                        for ky in 0..<t.kernelH {
                            for kx in 0..<t.kernelW {
                                let wv = weight[((i * t.outChannels + c) * t.kernelH + ky) * t.kernelW + kx]
                                out[(c * oh + y * t.strideH + ky) * ow + xx * t.strideW + kx] += x[(i * h + y) * w + xx] * wv
                            }
                        }
                    }
                }
            }
        }
        return out
    }

    private func check(kernel: Int, stride: Int, relu: Bool) throws {
        let t = ONNXNetwork.ConvTransposeSpec(inChannels: 5, outChannels: 3, kernelH: kernel, kernelW: kernel, strideH: stride, strideW: stride)
        let h = 7, w = 9
        var g = SystemRandomNumberGenerator()
        let x = (0..<(t.inChannels * h * w)).map { _ in Float.random(in: -1...1, using: &g) }
        let weight = (0..<(t.inChannels * t.outChannels * kernel * kernel)).map { _ in Float.random(in: -1...1, using: &g) }
        let bias: [Float] = [0.25, -0.5, 0.125]
        let y = try ONNXNetwork.convTranspose(Value(shape: [1, t.inChannels, h, w], data: x), t, weight, bias,
                                              reluOnWrite: relu, node: "test", pool: ThreadPool(threads: 2))
        let oh = (h - 1) * stride + kernel, ow = (w - 1) * stride + kernel
        XCTAssertEqual(y.shape, [1, t.outChannels, oh, ow])
        // Relu on write applies only where the windows tile the output.
        let expected = direct(x, h: h, w: w, t, weight: weight, bias: bias).map { relu && t.disjoint ? max($0, 0) : $0 }
        for (a, b) in zip(y.data, expected) { XCTAssertEqual(a, b, accuracy: 1e-5) }
    }

    func testTilingWindowsAreWrittenOnceWithBiasAndRelu() throws {
        try check(kernel: 2, stride: 2, relu: true)
        try check(kernel: 2, stride: 2, relu: false)
        try check(kernel: 3, stride: 3, relu: true)
    }

    func testOverlappingWindowsAreAdded() throws {
        try check(kernel: 3, stride: 2, relu: false)
        try check(kernel: 2, stride: 1, relu: false)
    }
}
