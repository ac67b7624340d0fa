// torchvision's ImageNet evaluation transform, reproduced bit for bit:
//   Resize(256)      shorter side to 256, longer side int(256 × long / short), bilinear with
//                    antialias — on a PIL image that is Pillow's ImagingResample
//   CenterCrop(224)  offsets int(round((side - 224) / 2)) (Python rounds half to even)
//   ToTensor         bytes / 255 as float32, (3, 224, 224)
//   Normalize        (x - mean) / std, float32
// Pillow resamples 8-bit images separably in fixed point: per output pixel a triangle filter
// stretched by the scale factor (so downscaling averages every covered pixel), weights
// normalised, rounded to 22 fractional bits, horizontal pass first, each pass rounded back to
// 8 bits. Doing the same integer arithmetic gives exactly Pillow's bytes, so the only
// difference from the reference pipeline is in the network's float arithmetic.
// Only the 224 × 224 window the crop keeps is computed (every output pixel depends only on its
// own filter taps), so time and scratch memory scale with the crop, not the resized picture.
import ImageOps

public enum ImageNetPreprocessing {
    public static let resizeShorterSide = 256
    public static let cropSize = 224
    public static let mean: [Float] = [0.485, 0.456, 0.406] // RGB
    public static let std: [Float] = [0.229, 0.224, 0.225] // RGB
    /// Longest side accepted; larger pictures are refused rather than resampled (the taps per
    /// output pixel grow with the scale factor).
    public static let maxSide = 16_384

    /// Pillow's fixed-point precision for 8-bit images: 32 - 8 - 2 bits.
    static let precisionBits = 22

    /// The resized picture's size torchvision computes: (width, height).
    public static func resizedSize(width: Int, height: Int) -> (width: Int, height: Int) {
        let short = min(width, height), long = max(width, height)
        let newLong = Int(Double(resizeShorterSide * long) / Double(short)) // Python int(): truncation
        return width <= height ? (resizeShorterSide, newLong) : (newLong, resizeShorterSide)
    }

    /// CenterCrop's top-left corner in the resized picture.
    static func cropOrigin(width: Int, height: Int) -> (x: Int, y: Int) {
        func offset(_ side: Int) -> Int { Int((Double(side - cropSize) / 2).rounded(.toNearestOrEven)) }
        return (offset(width), offset(height))
    }

    /// The 224 × 224 centre crop of the resized picture: (224, 224, 3) bytes, as Pillow makes them.
    public static func resizedCrop(_ image: RGBImage) throws(ImageError) -> [UInt8] {
        guard image.width <= maxSide, image.height <= maxSide else {
            throw .tooLarge(width: image.width, height: image.height, limit: maxSide)
        }
        let (rw, rh) = resizedSize(width: image.width, height: image.height)
        let (x0, y0) = cropOrigin(width: rw, height: rh)
        let horizontal = Taps(inSize: image.width, outSize: rw, outputs: x0..<(x0 + cropSize))
        let vertical = Taps(inSize: image.height, outSize: rh, outputs: y0..<(y0 + cropSize))

        // Horizontal pass over the source rows the vertical pass reads: (rows, 224, 3).
        let firstRow = vertical.first[0]
        let rows = (0..<cropSize).map { vertical.first[$0] + vertical.count[$0] }.max()! - firstRow
        var temp = [UInt8](repeating: 0, count: rows * cropSize * 3)
        image.pixels.withUnsafeBufferPointer { src in
            temp.withUnsafeMutableBufferPointer { dst in
                for r in 0..<rows {
                    let line = src.baseAddress! + (firstRow + r) * image.width * 3
                    for x in 0..<cropSize {
                        horizontal.apply(output: x, dst: dst.baseAddress! + (r * cropSize + x) * 3) { i in line + i * 3 }
                    }
                }
            }
        }
        // Vertical pass: (224, 224, 3).
        var out = [UInt8](repeating: 0, count: cropSize * cropSize * 3)
        temp.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                for y in 0..<cropSize {
                    for x in 0..<cropSize {
                        vertical.apply(output: y, dst: dst.baseAddress! + (y * cropSize + x) * 3) { i in
                            src.baseAddress! + ((i - firstRow) * cropSize + x) * 3
                        }
                    }
                }
            }
        }
        return out
    }

    /// ToTensor + Normalize of (224, 224, 3) bytes into `output`: (3, 224, 224) floats.
    public static func normalize(_ crop: [UInt8], into output: UnsafeMutablePointer<Float>) {
        let plane = cropSize * cropSize
        precondition(crop.count == plane * 3, "a 224 x 224 RGB crop")
        for c in 0..<3 {
            let m = mean[c], s = std[c]
            for i in 0..<plane { output[c * plane + i] = (Float(crop[i * 3 + c]) / 255 - m) / s }
        }
    }

    /// The whole transform: (3, 224, 224) floats.
    public static func tensor(_ image: RGBImage) throws(ImageError) -> [Float] {
        let crop = try resizedCrop(image)
        return [Float](unsafeUninitializedCapacity: 3 * cropSize * cropSize) { buf, n in
            normalize(crop, into: buf.baseAddress!)
            n = 3 * cropSize * cropSize
        }
    }

    /// Pillow's filter taps for one axis (`precompute_coeffs` + `normalize_coeffs_8bpc`) for
    /// the output positions `outputs` only.
    struct Taps {
        let size: Int // taps per output (ksize)
        var first: [Int] = [] // first source index, per output
        var count: [Int] = [] // taps used, per output
        var weights: [Int32] = [] // (outputs, size), fixed point

        init(inSize: Int, outSize: Int, outputs: Range<Int>) {
            let scale = Double(inSize) / Double(outSize)
            let filterScale = max(scale, 1)
            let support = 1 * filterScale // bilinear: support 1, widened when downscaling
            size = Int(support.rounded(.up)) * 2 + 1
            let unit = Double(1 << ImageNetPreprocessing.precisionBits)
            let ss = 1 / filterScale
            var taps = [Double](repeating: 0, count: size)
            for xx in outputs {
                let center = (Double(xx) + 0.5) * scale
                let xmin = max(Int(center - support + 0.5), 0) // C (int): truncation toward zero
                let xmax = min(Int(center + support + 0.5), inSize) - xmin
                var total = 0.0
                for x in 0..<size {
                    taps[x] = x < xmax ? max(0, 1 - abs((Double(x + xmin) - center + 0.5) * ss)) : 0
                    total += taps[x]
                }
                for x in 0..<size {
                    let w = total != 0 ? taps[x] / total : taps[x]
                    weights.append(Int32(w < 0 ? -0.5 + w * unit : 0.5 + w * unit))
                }
                first.append(xmin)
                count.append(xmax)
            }
        }

        /// One output pixel: the weighted sum of the taps' source pixels, rounded and clamped
        /// as Pillow's clip8.
        @inline(__always)
        func apply(output o: Int, dst: UnsafeMutablePointer<UInt8>, source: (Int) -> UnsafePointer<UInt8>) {
            let half = 1 << (ImageNetPreprocessing.precisionBits - 1)
            var r = half, g = half, b = half
            let w = o * size
            for t in 0..<count[o] {
                let p = source(first[o] + t), k = Int(weights[w + t])
                r += Int(p[0]) * k
                g += Int(p[1]) * k
                b += Int(p[2]) * k
            }
            dst[0] = Self.clip8(r)
            dst[1] = Self.clip8(g)
            dst[2] = Self.clip8(b)
        }

        @inline(__always)
        static func clip8(_ v: Int) -> UInt8 { UInt8(clamping: v >> ImageNetPreprocessing.precisionBits) }
    }
}
