// The picture operations of PaddleOCR's pipeline done the way OpenCV does them on 8-bit
// pictures, so the networks see the same inputs as the reference: cv2.resize INTER_LINEAR
// (11-bit fixed-point weights, half-pixel centres, edge clamping; a same-size resize is a
// copy) and cv2.warpPerspective INTER_CUBIC with BORDER_REPLICATE (Keys cubic, A = -0.75).
// Pictures here are (height, width, 3) bytes in BGR
// order, as cv2 holds them.

import Kernels

/// An 8-bit 3-channel picture, (height, width, 3) interleaved, channel order BGR.
struct Pixels {
    var width: Int
    var height: Int
    var data: [UInt8]
}

enum PixelOps {
    static let resizeCoefBits = 11
    static let resizeCoefScale = 1 << resizeCoefBits

    /// cv2.resize(src, (width, height)) with INTER_LINEAR on 8-bit pictures; rows split over
    /// `pool` when given.
    static func resizeLinear(_ src: Pixels, width dw: Int, height dh: Int, pool: ThreadPool? = nil) -> Pixels {
        if dw == src.width && dh == src.height { return src }
        let sw = src.width, sh = src.height
        let scaleX = Double(sw) / Double(dw), scaleY = Double(sh) / Double(dh)
        var xofs = [Int](repeating: 0, count: dw), alpha = [Int32](repeating: 0, count: dw * 2)
        var xmax = dw
        for dx in 0..<dw {
            var fx = Float((Double(dx) + 0.5) * scaleX - 0.5)
            var sx = Int(fx.rounded(.down))
            fx -= Float(sx)
            if sx < 0 { fx = 0; sx = 0 }
            if sx + 1 >= sw {
                xmax = min(xmax, dx)
                if sx >= sw - 1 { fx = 0; sx = sw - 1 }
            }
            xofs[dx] = sx
            alpha[dx * 2] = Int32(((1 - fx) * Float(resizeCoefScale)).rounded(.toNearestOrEven))
            alpha[dx * 2 + 1] = Int32((fx * Float(resizeCoefScale)).rounded(.toNearestOrEven))
        }
        let n = dw * 3
        var dst = [UInt8](repeating: 0, count: dw * dh * 3)
        src.data.withUnsafeBufferPointer { srcBuf in
            xofs.withUnsafeBufferPointer { xofs in
                alpha.withUnsafeBufferPointer { alpha in
                    dst.withUnsafeMutableBufferPointer { dstBuf in
                        let sp = srcBuf.baseAddress!, dp = dstBuf.baseAddress!
                        let one = Int32(resizeCoefScale)
                        /// Destination rows `range`: each row depends only on its two source rows.
                        func fill(_ range: Range<Int>) {
                            // Two horizontally filtered source rows, (dw * 3) fixed-point values
                            // each, kept while the destination rows still blend them (source
                            // rows only move down).
                            let rp = UnsafeMutablePointer<Int32>.allocate(capacity: 2 * n)
                            defer { rp.deallocate() }
                            var rowOf = (-1, -1)
                            /// The slot holding source row `y` filtered, filling the slot not holding `keep`.
                            func slot(_ y: Int, keep: Int) -> UnsafeMutablePointer<Int32> {
                                if rowOf.0 == y { return rp }
                                if rowOf.1 == y { return rp + n }
                                let k = rowOf.0 == keep ? 1 : 0
                                if k == 0 { rowOf.0 = y } else { rowOf.1 = y }
                                let out = rp + k * n, row = sp + y * sw * 3
                                for dx in 0..<dw {
                                    let s = row + xofs[dx] * 3, o = out + dx * 3
                                    if dx < xmax {
                                        let a0 = alpha[dx * 2], a1 = alpha[dx * 2 + 1]
                                        o[0] = Int32(s[0]) * a0 + Int32(s[3]) * a1
                                        o[1] = Int32(s[1]) * a0 + Int32(s[4]) * a1
                                        o[2] = Int32(s[2]) * a0 + Int32(s[5]) * a1
                                    } else {
                                        o[0] = Int32(s[0]) * one
                                        o[1] = Int32(s[1]) * one
                                        o[2] = Int32(s[2]) * one
                                    }
                                }
                                return out
                            }
                            for dy in range {
                                let fyF = Float((Double(dy) + 0.5) * scaleY - 0.5)
                                let sy = Int(fyF.rounded(.down))
                                let fy = fyF - Float(sy)
                                let b0 = Int32(((1 - fy) * Float(resizeCoefScale)).rounded(.toNearestOrEven))
                                let b1 = Int32((fy * Float(resizeCoefScale)).rounded(.toNearestOrEven))
                                let y0 = min(max(sy, 0), sh - 1), y1 = min(max(sy + 1, 0), sh - 1)
                                let r0 = slot(y0, keep: y1), r1 = slot(y1, keep: y0)
                                let o = dp + dy * n
                                for i in 0..<n {
                                    // OpenCV's vector path: ((b0·(s0>>4))>>16 + (b1·(s1>>4))>>16 + 2) >> 2.
                                    let v = (((b0 &* (r0[i] >> 4)) >> 16) &+ ((b1 &* (r1[i] >> 4)) >> 16) &+ 2) >> 2
                                    o[i] = UInt8(clamping: v)
                                }
                            }
                        }
                        pool.parallelFor(dh, minChunk: max(1, 16384 / max(n, 1))) { fill($0) }
                    }
                }
            }
        }
        return Pixels(width: dw, height: dh, data: dst)
    }

    /// Keys' cubic weights (A = -0.75) for the four taps around a fractional position.
    static func cubicWeights(_ x: Double) -> (Double, Double, Double, Double) {
        let a = -0.75
        let c0 = ((a * (x + 1) - 5 * a) * (x + 1) + 8 * a) * (x + 1) - 4 * a
        let c1 = ((a + 2) * x - (a + 3)) * x * x + 1
        let c2 = ((a + 2) * (1 - x) - (a + 3)) * (1 - x) * (1 - x) + 1
        return (c0, c1, c2, 1 - c0 - c1 - c2)
    }

    /// cv2.warpPerspective(src, M, (width, height), flags=INTER_CUBIC, borderMode=BORDER_REPLICATE),
    /// where `m` maps source to destination (it is inverted here, as OpenCV does). OpenCV 5
    /// samples at the exact (unquantised) source position with float weights; checked against
    /// it on the fixtures (at most 1 level apart on a few pixels).
    static func warpPerspectiveCubic(_ src: Pixels, m: [Double], width: Int, height: Int) -> Pixels? {
        guard width > 0, height > 0, let inv = Geometry.invert3x3(m) else { return nil }
        var dst = [UInt8](repeating: 0, count: width * height * 3)
        let sw = src.width, sh = src.height
        src.data.withUnsafeBufferPointer { sb in
            dst.withUnsafeMutableBufferPointer { db in
                guard let sp = sb.baseAddress, let dp = db.baseAddress else { return }
                for y in 0..<height {
                    for x in 0..<width {
                        let xd = Double(x), yd = Double(y)
                        let w = inv[6] * xd + inv[7] * yd + inv[8]
                        guard w != 0 else { continue }
                        let sx = (inv[0] * xd + inv[1] * yd + inv[2]) / w, sy = (inv[3] * xd + inv[4] * yd + inv[5]) / w
                        guard sx.isFinite, sy.isFinite, abs(sx) < 1e7, abs(sy) < 1e7 else { continue }
                        let x0 = Int(sx.rounded(.down)), y0 = Int(sy.rounded(.down))
                        let cx = cubicWeights(sx - Double(x0)), cy = cubicWeights(sy - Double(y0))
                        let wx = SIMD4(cx.0, cx.1, cx.2, cx.3), wy = SIMD4(cy.0, cy.1, cy.2, cy.3)
                        // The 4 × 4 neighbourhood's offsets (edges replicated), once for the three channels.
                        var rows = SIMD4<Int>(), cols = SIMD4<Int>()
                        for k in 0..<4 {
                            rows[k] = min(max(y0 - 1 + k, 0), sh - 1) * sw * 3
                            cols[k] = min(max(x0 - 1 + k, 0), sw - 1) * 3
                        }
                        let out = dp + (y * width + x) * 3
                        for c in 0..<3 {
                            var sum = 0.0
                            for k1 in 0..<4 {
                                let line = sp + rows[k1] + c
                                var row = 0.0
                                for k2 in 0..<4 { row += Double(line[cols[k2]]) * wx[k2] }
                                sum += row * wy[k1]
                            }
                            out[c] = UInt8(clamping: Int(sum.rounded(.toNearestOrEven)))
                        }
                    }
                }
            }
        }
        return Pixels(width: width, height: height, data: dst)
    }

    /// np.rot90 (90° counter-clockwise).
    static func rotate90CounterClockwise(_ p: Pixels) -> Pixels {
        var out = [UInt8](repeating: 0, count: p.data.count)
        let (w, h) = (p.height, p.width) // new sizes
        for y in 0..<h {
            for x in 0..<w {
                // new (y, x) = old (x, W-1-y)
                let src = (x * p.width + (p.width - 1 - y)) * 3
                for c in 0..<3 { out[(y * w + x) * 3 + c] = p.data[src + c] }
            }
        }
        return Pixels(width: w, height: h, data: out)
    }

    static func rotate180(_ p: Pixels) -> Pixels {
        var out = [UInt8](repeating: 0, count: p.data.count)
        let n = p.width * p.height
        for i in 0..<n { for c in 0..<3 { out[(n - 1 - i) * 3 + c] = p.data[i * 3 + c] } }
        return Pixels(width: p.width, height: p.height, data: out)
    }

    /// (1, 3, H, W) floats: (pixel / 255 - mean[c]) / std[c], channels in the picture's (BGR) order.
    static func normalized(_ p: Pixels, mean: [Float], std: [Float], padToWidth: Int? = nil, pool: ThreadPool? = nil) -> Value {
        let w = padToWidth ?? p.width, plane = p.height * w
        var out = [Float](repeating: 0, count: 3 * plane)
        p.data.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                /// Rows `range` of the three planes.
                func fill(_ range: Range<Int>) {
                    for c in 0..<3 {
                        let m = mean[c], s = std[c]
                        for y in range {
                            let from = src.baseAddress! + y * p.width * 3 + c, to = dst.baseAddress! + c * plane + y * w
                            for x in 0..<p.width { to[x] = (Float(from[x * 3]) / 255 - m) / s }
                        }
                    }
                }
                pool.parallelFor(p.height, minChunk: max(1, 8192 / max(p.width, 1))) { fill($0) }
            }
        }
        return Value(shape: [1, 3, p.height, w], data: out)
    }
}
