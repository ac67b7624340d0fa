// PReLU (parametric ReLU, one learned slope per channel, as torch.nn.PReLU(num_parameters:
// channels)): y = x for x > 0, slope[c] * x otherwise. Applied in place over a channel-major
// buffer (channels, planeCount), where a plane is whatever follows the channel axis: one
// image's (H, W), a batch's (N, H, W), or a single value for a linear layer's output.
// The optimised path is the branch-free max/min form the compiler vectorises; the reference
// is the definition with a branch. Both give identical bits (x + slope * 0 = x, 0 + slope * x).

/// x (channels, planeCount) in place: x = x > 0 ? x : slope[c] * x.
public func prelu(_ x: UnsafeMutablePointer<Float>, channels: Int, planeCount: Int, slope: UnsafePointer<Float>,
                  pool: ThreadPool = .shared) {
    guard channels > 0, planeCount > 0 else { return }
    if KernelConfig.forceReference {
        preluReference(x, channels: channels, planeCount: planeCount, slope: slope)
        return
    }
    pool.parallelFor(channels, minChunk: max(1, (1 << 15) / planeCount)) { range in
        for c in range {
            let a = slope[c]
            let row = x + c * planeCount
            for i in 0..<planeCount {
                let v = row[i]
                row[i] = max(v, 0) + a * min(v, 0)
            }
        }
    }
}

/// x (rows, channels) in place, the channel axis last (a linear layer's (batch, features)).
public func preluRows(_ x: UnsafeMutablePointer<Float>, rows: Int, channels: Int, slope: UnsafePointer<Float>) {
    guard rows > 0, channels > 0 else { return }
    if KernelConfig.forceReference {
        for r in 0..<rows {
            for c in 0..<channels { let v = x[r * channels + c]; x[r * channels + c] = v > 0 ? v : slope[c] * v }
        }
        return
    }
    for r in 0..<rows {
        let row = x + r * channels
        for c in 0..<channels { let v = row[c]; row[c] = max(v, 0) + slope[c] * min(v, 0) }
    }
}

/// The definition, one element at a time.
public func preluReference(_ x: UnsafeMutablePointer<Float>, channels: Int, planeCount: Int, slope: UnsafePointer<Float>) {
    for c in 0..<channels {
        for i in 0..<planeCount {
            let v = x[c * planeCount + i]
            x[c * planeCount + i] = v > 0 ? v : slope[c] * v
        }
    }
}
