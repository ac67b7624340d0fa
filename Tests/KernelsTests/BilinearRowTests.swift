// bilinearRowRGB8 against the plain Float32 expression it stands for, bit for bit, on every
// ISA path: random bytes and taps (left and right pixels anywhere in the row, including the
// last pixel, which the vector path must not read past), weights in [0, 1).
import Kernels
import XCTest

final class BilinearRowTests: XCTestCase {
    func testMatchesThePlainExpressionExactlyOnEveryPath() {
        var rng = SeededRandom(seed: 5)
        let width = 37, count = 64, rowBytes = width * 3
        let top = (0..<rowBytes).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
        let bottom = (0..<rowBytes).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
        var left = (0..<count).map { _ in Int32(Int(rng.next() % UInt64(width)) * 3) }
        var right = left.map { min($0 + 3, Int32(rowBytes - 3)) }
        left[0] = Int32(rowBytes - 3); right[0] = Int32(rowBytes - 3) // the last pixel on both sides
        right[1] = Int32(rowBytes - 3) // only the right tap on it
        let xLerp = (0..<count).map { _ in rng.float(0, 1) }, yLerp = rng.float(0, 1), scale: Float = 2.0 / 255.0
        var want = [Float](repeating: 0, count: count * 3)
        for i in 0..<count {
            for c in 0..<3 {
                let l = Int(left[i]) + c, r = Int(right[i]) + c, xl = xLerp[i]
                let tl = Float(top[l]), tr = Float(top[r]), bl = Float(bottom[l]), br = Float(bottom[r])
                let t = tl + (tr - tl) * xl
                let b = bl + (br - bl) * xl
                want[i * 3 + c] = scale * (t + (b - t) * yLerp) - 1
            }
        }
        forEachISA { isa in
            var got = [Float](repeating: .nan, count: count * 3)
            bilinearRowRGB8(top: top, bottom: bottom, yLerp: yLerp, left: left, right: right, xLerp: xLerp, count: count,
                            rowBytes: rowBytes, scale: scale, into: &got)
            XCTAssertEqual(got, want, "\(isa)")
        }
    }
}
