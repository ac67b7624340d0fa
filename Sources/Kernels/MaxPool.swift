// 2-D max pooling without padding, with PyTorch's `ceil_mode` rule for the output size:
// floor mode gives (H - k) / s + 1 windows; ceil mode rounds (H - k) / s up, adding a last
// window that hangs over the edge and is clipped to the input, except that a window must
// start inside the input ((out - 1) * s < H), else it is dropped (torch's pooling_output_shape).
// Works on any number of planes: (channels, H, W) of one image or (channels, batch, H, W).

/// Output size of a max pool along one axis of `size` elements (PyTorch's rule, padding 0).
public func maxPoolOutputSize(_ size: Int, kernel: Int, stride: Int, ceilMode: Bool) -> Int {
    guard size > 0, kernel > 0, stride > 0 else { return 0 }
    let numerator = size - kernel + (ceilMode ? stride - 1 : 0)
    // Floor division (rounding toward -inf, as torch's div_rtn): a kernel wider than the
    // input gives no window.
    var out = (numerator >= 0 ? numerator / stride : -((-numerator + stride - 1) / stride)) + 1
    if ceilMode && (out - 1) * stride >= size { out -= 1 }
    return max(out, 0)
}

/// input (planes, height, width) -> output (planes, outHeight, outWidth), each output the
/// maximum of its kernel × kernel window clipped to the input.
public func maxPool2d(_ input: UnsafePointer<Float>, planes: Int, height: Int, width: Int, kernel: Int, stride: Int,
                      ceilMode: Bool, output: UnsafeMutablePointer<Float>, pool: ThreadPool = .shared) {
    let oh = maxPoolOutputSize(height, kernel: kernel, stride: stride, ceilMode: ceilMode)
    let ow = maxPoolOutputSize(width, kernel: kernel, stride: stride, ceilMode: ceilMode)
    guard planes > 0, oh > 0, ow > 0 else { return }
    if KernelConfig.forceReference {
        maxPool2dReference(input, planes: planes, height: height, width: width, kernel: kernel, stride: stride,
                           ceilMode: ceilMode, output: output)
        return
    }
    // Per output row: the column-wise maximum over the window's rows (a contiguous,
    // vectorisable pass), then the maximum of each window's columns in that row.
    pool.parallelFor(planes, minChunk: max(1, (1 << 14) / max(height * width, 1))) { range in
        let columnMax = UnsafeMutablePointer<Float>.allocate(capacity: width) // (width)
        defer { columnMax.deallocate() }
        for p in range {
            let src = input + p * height * width
            let dst = output + p * oh * ow
            for oy in 0..<oh {
                let y0 = oy * stride, y1 = min(y0 + kernel, height)
                columnMax.update(from: src + y0 * width, count: width)
                for y in (y0 + 1)..<max(y1, y0 + 1) {
                    let row = src + y * width
                    for x in 0..<width { let v = row[x]; columnMax[x] = v > columnMax[x] ? v : columnMax[x] }
                }
                let out = dst + oy * ow
                for ox in 0..<ow {
                    let x0 = ox * stride, x1 = min(x0 + kernel, width)
                    var m = columnMax[x0]
                    for x in (x0 + 1)..<max(x1, x0 + 1) { let v = columnMax[x]; m = v > m ? v : m }
                    out[ox] = m
                }
            }
        }
    }
}

/// Every window checked element by element.
public func maxPool2dReference(_ input: UnsafePointer<Float>, planes: Int, height: Int, width: Int, kernel: Int,
                               stride: Int, ceilMode: Bool, output: UnsafeMutablePointer<Float>) {
    let oh = maxPoolOutputSize(height, kernel: kernel, stride: stride, ceilMode: ceilMode)
    let ow = maxPoolOutputSize(width, kernel: kernel, stride: stride, ceilMode: ceilMode)
    for p in 0..<planes {
        for oy in 0..<oh {
            for ox in 0..<ow {
                var m = -Float.infinity
                for ky in 0..<kernel {
                    for kx in 0..<kernel {
                        let y = oy * stride + ky, x = ox * stride + kx
                        if y >= height || x >= width { continue }
                        let v = input[(p * height + y) * width + x]
                        if v > m { m = v }
                    }
                }
                output[(p * oh + oy) * ow + ox] = m
            }
        }
    }
}
