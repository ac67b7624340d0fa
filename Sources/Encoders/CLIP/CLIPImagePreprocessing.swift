// CLIP's picture preprocessing as OpenAI's CLIP and transformers' CLIPImageProcessor (Pillow
// backend) run it, reproduced bit for bit up to the float normalisation:
//   resize     shorter side to `shortestEdge`, longer side int(edge × long / short), Pillow's
//              bicubic (a = -0.5) with the filter widened by the scale factor when shrinking
//   crop       a `cropSize` square at ((w - crop) // 2, (h - crop) // 2)
//   normalise  (bytes / 255 - mean) / std per channel, into (3, crop, crop) floats
// Pillow resamples 8-bit pictures separably in fixed point: per output pixel the filter taps
// are normalised to sum 1, rounded to 22 fractional bits, the horizontal pass runs first and
// each pass is rounded and clamped back to 8 bits. The same integer arithmetic gives exactly
// Pillow's bytes. Only the crop window is computed (each output pixel depends only on its own
// taps), so work and scratch memory scale with the crop, not with the resized picture.
import ImageOps

public enum CLIPImagePreprocessing {
    /// Longest side accepted; the taps per output pixel grow with the scale factor.
    public static let maxSide = 16_384
    /// Pillow's fixed-point precision for 8-bit pictures: 32 - 8 - 2 bits.
    static let precisionBits = 22
    /// Pillow's bicubic filter reaches two source pixels either side (before widening).
    static let bicubicSupport = 2.0

    /// The resized picture's (width, height).
    public static func resizedSize(width: Int, height: Int, shortestEdge: Int) -> (width: Int, height: Int) {
        let short = min(width, height), long = max(width, height)
        let newLong = Int(Double(shortestEdge * long) / Double(short)) // Python int(): truncation
        return width <= height ? (shortestEdge, newLong) : (newLong, shortestEdge)
    }

    /// The centre crop of the resized picture: (crop, crop, 3) bytes, as Pillow makes them.
    public static func resizedCrop(_ image: RGBImage, settings: CLIPImageSettings) throws(CLIPError) -> [UInt8] {
        guard image.width <= maxSide, image.height <= maxSide else {
            throw .image("\(image.width)x\(image.height) is larger than \(maxSide) pixels on a side")
        }
        let crop = settings.cropSize
        let (rw, rh) = resizedSize(width: image.width, height: image.height, shortestEdge: settings.shortestEdge)
        let x0 = (rw - crop) / 2, y0 = (rh - crop) / 2 // both sides >= crop (the config checks edge >= crop)
        let horizontal = Taps(inSize: image.width, outSize: rw, outputs: x0..<(x0 + crop))
        let vertical = Taps(inSize: image.height, outSize: rh, outputs: y0..<(y0 + crop))

        // Horizontal pass over the source rows the vertical pass reads: (rows, crop, 3).
        let firstRow = vertical.first.min() ?? 0
        let rows = (0..<crop).map { vertical.first[$0] + vertical.count[$0] }.max()! - firstRow
        var temp = [UInt8](repeating: 0, count: rows * crop * 3)
        image.pixels.withUnsafeBufferPointer { src in
            temp.withUnsafeMutableBufferPointer { dst in
                for r in 0..<rows {
                    let line = src.baseAddress! + (firstRow + r) * image.width * 3
                    for x in 0..<crop {
                        horizontal.apply(output: x, dst: dst.baseAddress! + (r * crop + x) * 3) { i in line + i * 3 }
                    }
                }
            }
        }
        // Vertical pass: (crop, crop, 3).
        var out = [UInt8](repeating: 0, count: crop * crop * 3)
        temp.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                for y in 0..<crop {
                    for x in 0..<crop {
                        vertical.apply(output: y, dst: dst.baseAddress! + (y * crop + x) * 3) { i in
                            src.baseAddress! + ((i - firstRow) * crop + x) * 3
                        }
                    }
                }
            }
        }
        return out
    }

    /// (crop, crop, 3) bytes → (3, crop, crop) normalised floats in `output`.
    public static func normalize(_ crop: [UInt8], settings: CLIPImageSettings, into output: UnsafeMutablePointer<Float>) {
        let plane = settings.cropSize * settings.cropSize
        precondition(crop.count == plane * 3, "CLIPImagePreprocessing.normalize: \(crop.count) bytes for a \(settings.cropSize)² crop")
        for c in 0..<3 {
            let m = settings.mean[c], s = settings.std[c]
            for i in 0..<plane { output[c * plane + i] = (Float(crop[i * 3 + c]) / 255 - m) / s }
        }
    }

    /// Pillow's bicubic kernel (a = -0.5).
    static func bicubic(_ v: Double) -> Double {
        let a = -0.5, x = abs(v)
        if x < 1 { return ((a + 2) * x - (a + 3)) * x * x + 1 }
        if x < 2 { return (((x - 5) * x + 8) * x - 4) * a }
        return 0
    }

    /// Pillow's filter taps for one axis (`precompute_coeffs` + `normalize_coeffs_8bpc`),
    /// for the output positions `outputs` only.
    struct Taps {
        let size: Int // taps per output (ksize)
        var first: [Int] = [] // first source index, per output
        var count: [Int] = [] // taps used, per output
        var weights: [Int32] = [] // (outputs, size), fixed point

        init(inSize: Int, outSize: Int, outputs: Range<Int>) {
            let scale = Double(inSize) / Double(outSize)
            let filterScale = max(scale, 1)
            let support = bicubicSupport * filterScale
            size = Int(support.rounded(.up)) * 2 + 1
            let unit = Double(1 << precisionBits)
            let ss = 1 / filterScale
            var taps = [Double](repeating: 0, count: size)
            for xx in outputs {
                let center = (Double(xx) + 0.5) * scale
                let xmin = max(Int(center - support + 0.5), 0) // C (int): truncation toward zero
                let xmax = min(Int(center + support + 0.5), inSize) - xmin
                var total = 0.0
                for x in 0..<size {
                    taps[x] = x < xmax ? bicubic((Double(x + xmin) - center + 0.5) * ss) : 0
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
            let half = 1 << (precisionBits - 1)
            var r = half, g = half, b = half
            let w = o * size
            for t in 0..<count[o] {
                let p = source(first[o] + t), k = Int(weights[w + t])
                r += Int(p[0]) * k
                g += Int(p[1]) * k
                b += Int(p[2]) * k
            }
            dst[0] = UInt8(clamping: r >> precisionBits)
            dst[1] = UInt8(clamping: g >> precisionBits)
            dst[2] = UInt8(clamping: b >> precisionBits)
        }
    }
}
