// Int8Dot: the AVX2 path against the scalar reference (exact: both accumulate in int32),
// at dimensions with and without a 32-code tail, and at the code range's ends.
import Kernels
import XCTest

final class Int8DotTests: XCTestCase {
    func testEveryPathMatchesTheReferenceExactly() {
        var state: UInt64 = 12345
        func next() -> Int8 {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Int8(Int((state >> 33) % 255) - 127)
        }
        for dim in [1, 31, 32, 384, 390] {
            let count = 17
            let query = (0..<dim).map { _ in next() }
            var rows = (0..<(count * dim)).map { _ in next() }
            // Extremes: a row of +127 against the query, one of -127.
            for j in 0..<dim { rows[j] = 127; rows[dim + j] = -127 }
            var expected = [Int32](repeating: 0, count: count)
            for r in 0..<count { for j in 0..<dim { expected[r] += Int32(query[j]) * Int32(rows[r * dim + j]) } }
            for isa in KernelConfig.availableISAs {
                let saved = KernelConfig.isa
                KernelConfig.isa = isa
                var out = [Int32](repeating: -1, count: count)
                Int8Dot.dots(query: query, rows: rows, count: count, dim: dim, into: &out)
                KernelConfig.isa = saved
                XCTAssertEqual(out, expected, "dim \(dim) on \(isa)")
            }
        }
        XCTAssertEqual(Int32(127 * 127 * 384), {
            var out: [Int32] = [0]
            Int8Dot.dots(query: [Int8](repeating: -127, count: 384), rows: [Int8](repeating: -127, count: 384), count: 1, dim: 384, into: &out)
            return out[0]
        }())
    }
}
