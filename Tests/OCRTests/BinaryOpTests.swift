// The networks' broadcasting element-wise ops against an index-by-index reference: small
// tensors walked on the calling thread, large ones split over the pool by blocks or, when a
// tensor has few blocks, by pieces of each block.
import Kernels
@testable import OCR
import XCTest

final class BinaryOpTests: XCTestCase {
    /// out[i] = a[i broadcast] op b[i broadcast], one output index at a time.
    private func reference(_ op: ONNXNetwork.BinaryOp, _ a: Value, _ b: Value, shape: [Int]) -> [Float] {
        let rank = shape.count, count = shape.reduce(1, *)
        func offset(_ index: [Int], _ s: [Int]) -> Int {
            let p = [Int](repeating: 1, count: rank - s.count) + s
            var o = 0
            for k in 0..<rank { o = o * p[k] + (p[k] == 1 ? 0 : index[k]) }
            return o
        }
        return (0..<count).map { flat in
            var index = [Int](repeating: 0, count: rank), rest = flat
            for k in stride(from: rank - 1, through: 0, by: -1) { index[k] = rest % shape[k]; rest /= shape[k] }
            let x = a.data[offset(index, a.shape)], y = b.data[offset(index, b.shape)]
            switch op {
            case .add: return x + y
            case .sub: return x - y
            case .mul: return x * y
            case .div: return x / y
            default: return .nan
            }
        }
    }

    private func random(_ shape: [Int]) -> Value {
        var g = SystemRandomNumberGenerator()
        return Value(shape: shape, data: (0..<shape.reduce(1, *)).map { _ in Float.random(in: 0.5...2, using: &g) })
    }

    func testBroadcastsMatchTheReferenceWithAndWithoutThePool() throws {
        let pool = ThreadPool(threads: 2)
        let cases: [([Int], [Int])] = [
            ([1, 24, 68, 120], [1, 24, 68, 120]),   // one contiguous block: split in pieces
            ([1, 24, 68, 120], [1, 24, 1, 1]),      // per channel (squeeze-excitation's scale)
            ([1, 1, 68, 120], [1, 8, 68, 1]),       // both broadcast, many blocks
            ([1, 3, 5, 7], [1, 3, 1, 7]),           // small: on the calling thread
            ([2, 1, 100, 200], [1, 4, 1, 200]),
            ([1], [70_000]),                        // a scalar against one long block
        ]
        for (sa, sb) in cases {
            let a = random(sa), b = random(sb)
            for op in [ONNXNetwork.BinaryOp.add, .sub, .mul, .div] {
                let shape = try ONNXNetwork.binary(op, a, b, node: "test").shape
                let expected = reference(op, a, b, shape: shape)
                for p in [nil, pool] {
                    let y = try ONNXNetwork.binary(op, a, b, node: "test", pool: p)
                    XCTAssertEqual(y.shape, shape, "\(op) \(sa) \(sb)")
                    XCTAssertEqual(y.data, expected, "\(op) \(sa) \(sb) pool \(p != nil)")
                }
            }
        }
    }
}
