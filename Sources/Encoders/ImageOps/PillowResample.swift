// Pillow's ImagingResample for 8-bit RGB pictures, reproduced bit for bit, as the vision
// models' reference pre-processing runs it (torchvision's Resize on a PIL image, CLIP's
// image processor). Resampling is separable, in fixed point: per output pixel the filter
// (stretched by the scale factor when shrinking, so every covered pixel counts) is sampled
// at the taps, normalised to sum 1 and rounded to 22 fractional bits; the horizontal pass
// runs first and each pass is rounded and clamped back to 8 bits. Only a window of the
// resized picture is computed (each output pixel depends only on its own taps), so a centre
// crop costs work and scratch memory in proportion to the crop, not the resized picture.
import Kernels

public enum PillowResample {
    /// Pillow's resampling filters used by the models' reference pipelines.
    public enum Filter: Sendable {
        /// The triangle filter ("bilinear" with antialias), support 1.
        case bilinear
        /// Keys' cubic with a = -0.5 (Pillow's BICUBIC), support 2.
        case bicubic

        /// Source pixels the filter reaches either side, before widening.
        var support: Double {
            switch self {
            case .bilinear: 1
            case .bicubic: 2
            }
        }

        func weight(_ v: Double) -> Double {
            switch self {
            case .bilinear:
                return max(0, 1 - abs(v))
            case .bicubic:
                let a = -0.5, x = abs(v)
                if x < 1 { return ((a + 2) * x - (a + 3)) * x * x + 1 }
                if x < 2 { return (((x - 5) * x + 8) * x - 4) * a }
                return 0
            }
        }
    }

    /// Pillow's fixed-point precision for 8-bit pictures: 32 - 8 - 2 bits.
    static let precisionBits = 22

    /// The window [x0, x0 + width) × [y0, y0 + height) of `image` resized to `resized`, as
    /// (height, width, 3) bytes. The window must lie inside the resized picture. Each pass's
    /// rows are split over `pool` when given.
    public static func window(of image: RGBImage, resized: (width: Int, height: Int), x0: Int, y0: Int,
                              width: Int, height: Int, filter: Filter, pool: ThreadPool? = nil) -> [UInt8]
    {
        let horizontal = Taps(inSize: image.width, outSize: resized.width, outputs: x0..<(x0 + width), filter: filter)
        let vertical = Taps(inSize: image.height, outSize: resized.height, outputs: y0..<(y0 + height), filter: filter)
        let minRows = max(1, 4096 / max(width, 1))

        // Horizontal pass over the source rows the vertical pass reads: (rows, width, 3).
        let firstRow = vertical.first.min() ?? 0
        let rows = (0..<height).map { vertical.first[$0] + vertical.count[$0] }.max()! - firstRow
        var temp = [UInt8](repeating: 0, count: rows * width * 3)
        image.pixels.withUnsafeBufferPointer { src in
            temp.withUnsafeMutableBufferPointer { dst in
                pool.parallelFor(rows, minChunk: minRows) { range in
                    for r in range {
                        let line = src.baseAddress! + (firstRow + r) * image.width * 3
                        for x in 0..<width {
                            horizontal.apply(output: x, dst: dst.baseAddress! + (r * width + x) * 3) { i in line + i * 3 }
                        }
                    }
                }
            }
        }
        // Vertical pass: (height, width, 3).
        var out = [UInt8](repeating: 0, count: height * width * 3)
        temp.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                pool.parallelFor(height, minChunk: minRows) { range in
                    for y in range {
                        for x in 0..<width {
                            vertical.apply(output: y, dst: dst.baseAddress! + (y * width + x) * 3) { i in
                                src.baseAddress! + ((i - firstRow) * width + x) * 3
                            }
                        }
                    }
                }
            }
        }
        return out
    }

    /// Pillow's precomputed taps for one axis, for the outputs in `outputs` only.
    struct Taps {
        let size: Int // taps per output (ksize)
        var first: [Int] = [] // first source index, per output
        var count: [Int] = [] // taps used, per output
        var weights: [Int32] = [] // (outputs, size), fixed point

        init(inSize: Int, outSize: Int, outputs: Range<Int>, filter: Filter) {
            let scale = Double(inSize) / Double(outSize)
            let filterScale = max(scale, 1)
            let support = filter.support * filterScale
            size = Int(support.rounded(.up)) * 2 + 1
            let unit = Double(1 << PillowResample.precisionBits)
            let ss = 1 / filterScale
            var taps = [Double](repeating: 0, count: size)
            for xx in outputs {
                let center = (Double(xx) + 0.5) * scale
                let xmin = max(Int(center - support + 0.5), 0) // C (int): truncation toward zero
                let xmax = min(Int(center + support + 0.5), inSize) - xmin
                var total = 0.0
                for x in 0..<size {
                    taps[x] = x < xmax ? filter.weight((Double(x + xmin) - center + 0.5) * ss) : 0
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
            let bits = PillowResample.precisionBits
            var r = 1 << (bits - 1), g = r, b = r
            let w = o * size
            for t in 0..<count[o] {
                let p = source(first[o] + t), k = Int(weights[w + t])
                r += Int(p[0]) * k
                g += Int(p[1]) * k
                b += Int(p[2]) * k
            }
            dst[0] = UInt8(clamping: r >> bits)
            dst[1] = UInt8(clamping: g >> bits)
            dst[2] = UInt8(clamping: b >> bits)
        }
    }
}
