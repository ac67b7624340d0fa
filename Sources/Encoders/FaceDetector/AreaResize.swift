// The resampling MTCNN's cascade uses for its image pyramid and its 24×24 / 48×48 crops:
// facenet-pytorch's `imresample`, torch.nn.functional.interpolate(mode="area"), which is
// adaptive average pooling. Output row i averages input rows [⌊i·H/outH⌋, ⌈(i+1)·H/outH⌉)
// and likewise for columns, so windows of neighbouring outputs may overlap by one pixel
// and, when enlarging, a pixel is repeated. Then the network scaling (v − 127.5) × 0.0078125.
//
// The pixels are 8-bit integers, so window sums are computed exactly in integers (torch's
// float sums are exact too at these sizes) and divided as torch divides, by the window
// height and then by its width, in Float.
import ImageOps

/// facenet-pytorch's input scaling: (pixel − 127.5) × 0.0078125 (= 1/128).
let pixelOffset: Float = 127.5
let pixelScale: Float = 0.0078125

/// Area-resamples the region (x0, y0, width, height) of `image` to (outHeight, outWidth) and
/// writes it scaled for the networks as three planes (3, outHeight, outWidth), red first,
/// each plane `channelStride` floats after the previous one (so crops can be written into
/// a channel-major batch). The region must lie inside the image.
func areaResize(_ image: RGBImage, x0: Int, y0: Int, width: Int, height: Int, outWidth: Int, outHeight: Int,
                into dest: UnsafeMutablePointer<Float>, channelStride: Int) {
    precondition(x0 >= 0 && y0 >= 0 && width > 0 && height > 0 && x0 + width <= image.width && y0 + height <= image.height,
                 "resize region inside the image")
    // Adaptive pooling windows (ATen's start_index / end_index).
    func start(_ i: Int, _ input: Int, _ output: Int) -> Int { (i * input) / output }
    func end(_ i: Int, _ input: Int, _ output: Int) -> Int { ((i + 1) * input + output - 1) / output }
    let xs = (0..<outWidth).map { start($0, width, outWidth) }
    let xe = (0..<outWidth).map { end($0, width, outWidth) }
    let rowLength = width * 3
    // (width, 3) sums over the current output row's window. Int32 holds any window of up to
    // 8.4 million pixels (Int32.max / 255); FaceDetector.maxSide keeps windows far below that.
    let columnSums = UnsafeMutablePointer<Int32>.allocate(capacity: rowLength)
    defer { columnSums.deallocate() }
    image.pixels.withUnsafeBufferPointer { buffer in
        let px = buffer.baseAddress!
        for oy in 0..<outHeight {
            let ys = start(oy, height, outHeight), ye = end(oy, height, outHeight)
            columnSums.update(repeating: 0, count: rowLength)
            for y in ys..<ye {
                let row = px + ((y0 + y) * image.width + x0) * 3
                for i in 0..<rowLength { columnSums[i] &+= Int32(row[i]) }
            }
            let kh = Float(ye - ys)
            for ox in 0..<outWidth {
                var r: Int32 = 0, g: Int32 = 0, b: Int32 = 0
                for x in xs[ox]..<xe[ox] { r &+= columnSums[x * 3]; g &+= columnSums[x * 3 + 1]; b &+= columnSums[x * 3 + 2] }
                let kw = Float(xe[ox] - xs[ox])
                let o = oy * outWidth + ox
                dest[o] = (Float(r) / kh / kw - pixelOffset) * pixelScale
                dest[channelStride + o] = (Float(g) / kh / kw - pixelOffset) * pixelScale
                dest[2 * channelStride + o] = (Float(b) / kh / kw - pixelOffset) * pixelScale
            }
        }
    }
}
