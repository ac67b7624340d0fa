// The detector's pre-processing, as the exported graph does it: the uint8 picture is cast to
// float, resized to 300 × 300 with TensorFlow 1's ResizeBilinear (align_corners = false,
// half_pixel_centers = false: source coordinate = destination index × in/out, no half-pixel
// shift, the upper neighbour clamped to the last row or column) and mapped to [-1, 1] by
// (2/255)·x − 1. The arithmetic follows TensorFlow's kernel in Float32 step by step (scale
// in/out as a float, lerp = in − floor(in), top/bottom rows blended along x first), so the
// network sees the same numbers TensorFlow feeds it.
//
// The picture is read in place, one source row pair per output row: memory stays at the
// 300 × 300 output whatever the input size. Each row is Kernels' bilinearRowRGB8 (a pixel's
// three channels as one vector where the CPU has AVX2, the same results on every path).
import ImageOps
import Kernels
import ModelIO

enum ResizeBilinear {
    /// One output coordinate's two source indices and the weight of the upper one.
    struct Tap {
        var lower: Int
        var upper: Int
        var lerp: Float
    }

    /// TensorFlow's `compute_interpolation_weights` with the legacy scaler.
    static func taps(inSize: Int, outSize: Int) -> [Tap] {
        let scale = Float(inSize) / Float(outSize)
        return (0..<outSize).map { i in
            let x = Float(i) * scale
            let f = x.rounded(.down)
            return Tap(lower: max(Int(f), 0), upper: min(Int(x.rounded(.up)), inSize - 1), lerp: x - f)
        }
    }

    /// Writes `image` resized to (outHeight, outWidth, 3), normalised to [-1, 1], into `output`.
    static func normalised(_ image: RGBImage, outHeight: Int, outWidth: Int, into output: UnsafeMutablePointer<Float>) {
        let ys = taps(inSize: image.height, outSize: outHeight)
        let xs = taps(inSize: image.width, outSize: outWidth)
        let scale: Float = 2.0 / 255.0 // the export's Float32 constant 0.007843138
        let left = xs.map { Int32($0.lower * 3) }, right = xs.map { Int32($0.upper * 3) }, xLerp = xs.map(\.lerp)
        let rowBytes = image.width * 3
        image.pixels.withUnsafeBufferPointer { px in
            let p = px.baseAddress!
            for oy in 0..<outHeight {
                let top = p + ys[oy].lower * rowBytes, bottom = p + ys[oy].upper * rowBytes
                bilinearRowRGB8(top: top, bottom: bottom, yLerp: ys[oy].lerp, left: left, right: right, xLerp: xLerp, count: outWidth,
                                rowBytes: rowBytes, scale: scale, into: output + oy * outWidth * 3)
            }
        }
    }

    /// Checks that the graph pre-processes this way: its ResizeBilinear without corner
    /// alignment or half-pixel centres, then ·(2/255) and −1.
    static func checkGraph(_ graph: TensorFlowGraph) throws(PersonDetectorError) {
        let resize = "Preprocessor/map/while/ResizeImage/resize_images/ResizeBilinear"
        guard let node = graph.node(named: resize), node.op == "ResizeBilinear" else {
            throw .topology(path: graph.path, node: resize, reason: "is missing or not a ResizeBilinear")
        }
        for flag in ["align_corners", "half_pixel_centers"] where node.attributes[flag]?.bool == true {
            throw .topology(path: graph.path, node: resize, reason: "has \(flag) set; this detector resizes without it")
        }
        for (name, expected) in [("Preprocessor/mul/x", Float(2.0 / 255.0)), ("Preprocessor/sub/y", Float(1))] {
            let value: [Float]
            do { value = try graph.constant(name).floats() } catch { throw .model(error) }
            guard value == [expected] else { throw .topology(path: graph.path, node: name, reason: "is \(value), expected \(expected)") }
        }
    }
}
