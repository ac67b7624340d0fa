// Attention (head-major and token-major layouts, additive and causal masks), the KV cache
// (incremental decoding equals one causal pass), keys packed once with repeat counts, and
// the LSTM cell, each against plain references on every ISA path. Tolerance abs 1e-5 +
// rel 1e-4.
import Kernels
import XCTest

final class AttentionTests: XCTestCase {
    func testAttentionMatchesReference() {
        var rng = SeededRandom(seed: 30)
        for (heads, tq, tk, d) in [(1, 1, 1, 1), (2, 3, 7, 8), (3, 7, 33, 64), (8, 33, 257, 64), (1, 257, 33, 3), (6, 1, 1000, 64), (2, 300, 1000, 7), (3, 100, 100, 64)] {
            let q = rng.floats(heads * tq * d), k = rng.floats(heads * tk * d), v = rng.floats(heads * tk * d)
            let mask = (0..<(tq * tk)).map { i in i % 5 == 1 ? -Float.infinity : rng.float(-1, 1) }
            for (useMask, causal) in [(false, false), (true, false), (false, true), (true, true)] {
                if useMask && causal && tk < tq { continue }
                var expected = [Float](repeating: 0, count: heads * tq * d)
                withReference {
                    scaledDotProductAttention(q: q, k: k, v: v, heads: heads, tq: tq, tk: tk, headDim: d,
                                              mask: useMask ? mask : nil, causal: causal, output: &expected)
                }
                forEachISA { isa in
                    for pool in [ThreadPool(threads: 1), ThreadPool(threads: 2)] {
                        var y = [Float](repeating: .nan, count: heads * tq * d)
                        scaledDotProductAttention(q: q, k: k, v: v, heads: heads, tq: tq, tk: tk, headDim: d,
                                                  mask: useMask ? mask : nil, causal: causal, output: &y, pool: pool)
                        // rows whose every key is masked are NaN in both (as PyTorch); compare the rest
                        let finite = zip(y, expected).map { $1.isNaN ? Float(0) : $0 }
                        assertClose(finite, expected.map { $0.isNaN ? 0 : $0 }, abs: 1e-5, rel: 1e-4,
                                    "attention \(isa) h\(heads) tq\(tq) tk\(tk) d\(d) mask \(useMask) causal \(causal) threads \(pool.threadCount)")
                    }
                }
            }
        }
    }

    /// bf16 products (an encoder's self-attention in bf16): on every ISA (vdpbf16ps where the
    /// kernels have AVX-512 BF16, emulated elsewhere) the same as the reference that rounds
    /// queries, keys, softmax weights and values to bf16, and within bf16's error of fp32
    /// attention. Short query sequences stay fp32.
    func testBF16ProductsMatchTheRoundingReference() {
        var rng = SeededRandom(seed: 33)
        for (heads, tq, tk, d) in [(2, 32, 32, 64), (3, 100, 257, 64), (8, 150, 150, 64), (2, 40, 61, 7)] {
            let q = rng.floats(heads * tq * d), k = rng.floats(heads * tk * d), v = rng.floats(heads * tk * d)
            let mask = (0..<(tq * tk)).map { _ in rng.float(-1, 1) }
            let layout = HeadLayout.headMajor(rows: tq, headDim: d), kvLayout = HeadLayout.headMajor(rows: tk, headDim: d)
            for useMask in [false, true] {
                func run(_ products: AttentionProducts, reference: Bool = false, pool: ThreadPool = .shared) -> [Float] {
                    var y = [Float](repeating: .nan, count: heads * tq * d)
                    let body = {
                        attention(q: q, qLayout: layout, k: k, kLayout: kvLayout, v: v, vLayout: kvLayout, heads: heads, tq: tq, tk: tk,
                                  headDim: d, mask: useMask ? mask : nil, output: &y, outputLayout: layout, products: products, pool: pool)
                    }
                    if reference { withReference(body) } else { body() }
                    return y
                }
                let rounded = run(.bf16, reference: true), exact = run(.fp32, reference: true)
                assertClose(rounded, exact, abs: 2e-2, rel: 2e-2, "bf16 reference near fp32 h\(heads) tq\(tq) tk\(tk) d\(d)")
                XCTAssertNotEqual(rounded, exact, "the reference rounds")
                forEachISA { isa in
                    for pool in [ThreadPool(threads: 1), ThreadPool(threads: 2)] {
                        assertClose(run(.bf16, pool: pool), rounded, abs: 1e-4, rel: 1e-3,
                                    "bf16 products \(isa) h\(heads) tq\(tq) tk\(tk) d\(d) mask \(useMask) threads \(pool.threadCount)")
                    }
                }
            }
        }
        // Decoder steps (fewer than 32 queries) are not rounded.
        let q = rng.floats(5 * 64), k = rng.floats(40 * 64)
        var fp32 = [Float](repeating: 0, count: 5 * 64), bf16 = fp32
        scaledDotProductAttention(q: q, k: k, v: k, heads: 1, tq: 5, tk: 40, headDim: 64, output: &fp32)
        attention(q: q, qLayout: .headMajor(rows: 5, headDim: 64), k: k, kLayout: .headMajor(rows: 40, headDim: 64), v: k,
                  vLayout: .headMajor(rows: 40, headDim: 64), heads: 1, tq: 5, tk: 40, headDim: 64, output: &bf16,
                  outputLayout: .headMajor(rows: 5, headDim: 64), products: .bf16)
        XCTAssertEqual(bf16, fp32)
    }

    /// Keys and values packed once (PackedKeysValues), as Whisper's decoder keeps its
    /// cross-attention over the encoder output, from the token-major [key | value] rows a
    /// fused Linear writes: same result as the reference on every ISA, for decoder steps
    /// (tq ≤ 8) and for long query blocks, packed under the ISA that then runs them.
    func testPackedKeysValuesMatchReference() {
        var rng = SeededRandom(seed: 31)
        for (heads, tq, tk, d) in [(1, 1, 1, 1), (8, 5, 1500, 64), (6, 1, 37, 64), (2, 40, 300, 7)] {
            let q = rng.floats(heads * tq * d), k = rng.floats(heads * tk * d), v = rng.floats(heads * tk * d)
            var kv = [Float](repeating: 0, count: tk * 2 * heads * d) // (tk, [keys | values])
            for h in 0..<heads {
                for j in 0..<tk {
                    for c in 0..<d {
                        kv[j * 2 * heads * d + h * d + c] = k[(h * tk + j) * d + c]
                        kv[j * 2 * heads * d + heads * d + h * d + c] = v[(h * tk + j) * d + c]
                    }
                }
            }
            var expected = [Float](repeating: 0, count: heads * tq * d)
            withReference {
                scaledDotProductAttention(q: q, k: k, v: v, heads: heads, tq: tq, tk: tk, headDim: d, output: &expected)
            }
            let layout = HeadLayout.headMajor(rows: tq, headDim: d)
            let rows = HeadLayout(headStride: d, rowStride: 2 * heads * d)
            let packed = PackedKeysValues(heads: heads, tokens: tk, headDim: d)
            forEachISA { isa in
                for pool in [ThreadPool(threads: 1), ThreadPool(threads: 2)] {
                    kv.withUnsafeBufferPointer { p in
                        packed.pack(k: p.baseAddress!, kLayout: rows, v: p.baseAddress! + heads * d, vLayout: rows, pool: pool)
                    }
                    var y = [Float](repeating: .nan, count: heads * tq * d)
                    attention(q: q, qLayout: layout, packed: packed, tq: tq, output: &y, outputLayout: layout, pool: pool)
                    assertClose(y, expected, abs: 1e-5, rel: 1e-4, "packed keys/values \(isa) h\(heads) tq\(tq) tk\(tk) d\(d) threads \(pool.threadCount)")
                    // The reference path reads the panels back element by element: the packing itself is right.
                    var viaReference = [Float](repeating: .nan, count: heads * tq * d)
                    withReference { attention(q: q, qLayout: layout, packed: packed, tq: tq, output: &viaReference, outputLayout: layout) }
                    assertClose(viaReference, expected, abs: 1e-6, rel: 1e-6, "packed reference \(isa) h\(heads) tq\(tq) tk\(tk) d\(d)")
                }
            }
        }
    }

    /// Distinct keys packed once with how many times each repeats (as a packed utterance's
    /// gap rows stand for a lone window's padding) attend exactly as the sequence written
    /// out in full, on every ISA and in the reference; packing again without repeats
    /// forgets them.
    func testPackedKeysWithRepeatsEqualTheSequenceWrittenOut() {
        var rng = SeededRandom(seed: 32)
        for (heads, tq, d, repeats) in [(1, 1, 1, [1, 3]), (8, 5, 64, [1, 1, 1, 9, 12, 1, 30, 7]),
                                        (2, 40, 7, (0..<150).map { $0 < 60 ? 1 : 1 + $0 % 13 })] {
            let distinct = repeats.count, full = repeats.reduce(0, +)
            let q = rng.floats(heads * tq * d), k = rng.floats(heads * distinct * d), v = rng.floats(heads * distinct * d)
            // (distinct, [keys | values]) token-major, and the same with each row repeated.
            func rows(_ order: [Int]) -> [Float] {
                var kv = [Float](repeating: 0, count: order.count * 2 * heads * d)
                for (j, src) in order.enumerated() {
                    for h in 0..<heads {
                        for c in 0..<d {
                            kv[j * 2 * heads * d + h * d + c] = k[(h * distinct + src) * d + c]
                            kv[j * 2 * heads * d + heads * d + h * d + c] = v[(h * distinct + src) * d + c]
                        }
                    }
                }
                return kv
            }
            let once = rows(Array(0..<distinct))
            let writtenOut = rows(repeats.enumerated().flatMap { j, n in Array(repeating: j, count: n) })
            let layout = HeadLayout.headMajor(rows: tq, headDim: d)
            let kvRows = HeadLayout(headStride: d, rowStride: 2 * heads * d)
            let packed = PackedKeysValues(heads: heads, tokens: full, headDim: d)
            func attend(_ kv: [Float], count: Int, repeats: [Int]?, reference: Bool = false) -> [Float] {
                kv.withUnsafeBufferPointer { p in
                    packed.pack(k: p.baseAddress!, kLayout: kvRows, v: p.baseAddress! + heads * d, vLayout: kvRows,
                                count: count, repeats: repeats)
                }
                var y = [Float](repeating: .nan, count: heads * tq * d)
                if reference {
                    withReference { attention(q: q, qLayout: layout, packed: packed, tq: tq, output: &y, outputLayout: layout) }
                } else {
                    attention(q: q, qLayout: layout, packed: packed, tq: tq, output: &y, outputLayout: layout)
                }
                return y
            }
            let expected = attend(writtenOut, count: full, repeats: nil, reference: true)
            XCTAssertEqual(packed.tokens, full)
            forEachISA { isa in
                assertClose(attend(once, count: distinct, repeats: repeats), expected, abs: 1e-5, rel: 1e-4,
                            "repeats \(isa) h\(heads) tq\(tq) d\(d) \(distinct) keys for \(full)")
                assertClose(attend(once, count: distinct, repeats: repeats, reference: true), expected, abs: 1e-6, rel: 1e-6,
                            "repeats, reference \(isa) h\(heads) tq\(tq) d\(d)")
            }
            XCTAssertNotNil(packed.keyLogWeights)
            _ = attend(once, count: distinct, repeats: nil)
            XCTAssertNil(packed.keyLogWeights, "packing without repeats forgets the last ones")
        }
    }

    func testAttentionHandComputed() {
        // One head, d = 1, q = [1], k = [0, ln 3], v = [10, 20], scale 1 -> weights [0.25, 0.75] -> 17.5
        var y: [Float] = [0]
        scaledDotProductAttention(q: [1], k: [0, log(3)], v: [10, 20], heads: 1, tq: 1, tk: 2, headDim: 1, scale: 1, output: &y)
        XCTAssertEqual(y[0], 17.5, accuracy: 1e-4)
        // causal: query 0 of 2 sees only key 0
        var y2: [Float] = [0, 0]
        scaledDotProductAttention(q: [1, 1], k: [0, log(3)], v: [10, 20], heads: 1, tq: 2, tk: 2, headDim: 1, causal: true, scale: 1, output: &y2)
        XCTAssertEqual(y2[0], 10, accuracy: 1e-5)
        XCTAssertEqual(y2[1], 17.5, accuracy: 1e-4)
    }

    /// Decoding token by token through the cache equals one causal pass over all tokens.
    func testKVCacheIncrementalEqualsFullCausalPass() throws {
        var rng = SeededRandom(seed: 31)
        let heads = 4, d = 16, steps = 9, width = heads * d
        let q = rng.floats(steps * width), k = rng.floats(steps * width), v = rng.floats(steps * width) // token-major
        let tm = HeadLayout.tokenMajor(heads: heads, headDim: d)
        var expected = [Float](repeating: 0, count: steps * width)
        withReference {
            attention(q: q, qLayout: tm, k: k, kLayout: tm, v: v, vLayout: tm, heads: heads, tq: steps, tk: steps, headDim: d,
                      causal: true, output: &expected, outputLayout: tm)
        }
        try forEachISA { isa in
            let cache = try KVCache(heads: heads, headDim: d, capacity: 16)
            var y = [Float](repeating: .nan, count: steps * width)
            // first a 3-token prompt, then one token at a time
            var t = 0
            for chunk in [3, 1, 1, 1, 1, 1, 1] {
                try k.withUnsafeBufferPointer { kp in try v.withUnsafeBufferPointer { vp in
                    try cache.append(keys: kp.baseAddress! + t * width, values: vp.baseAddress! + t * width, tokens: chunk)
                } }
                q.withUnsafeBufferPointer { qp in y.withUnsafeMutableBufferPointer { yp in
                    cache.attend(query: qp.baseAddress! + t * width, tokens: chunk, causal: true, output: yp.baseAddress! + t * width)
                } }
                t += chunk
            }
            XCTAssertEqual(cache.count, steps)
            assertClose(y, expected, abs: 1e-5, rel: 1e-4, "kv cache \(isa)")
            XCTAssertThrowsError(try cache.append(keys: k, values: v, tokens: 8)) { error in
                XCTAssertEqual(error as? KernelError, .cacheFull(capacity: 16, count: 9, appending: 8))
            }
            cache.reset()
            XCTAssertEqual(cache.count, 0)
        }
    }

    func testLSTMCellMatchesReference() {
        var rng = SeededRandom(seed: 32)
        for (inputSize, hidden) in [(1, 1), (3, 7), (33, 17), (128, 128), (257, 64)] {
            let x = rng.floats(inputSize), wih = rng.floats(4 * hidden * inputSize), whh = rng.floats(4 * hidden * hidden)
            let bih = rng.floats(4 * hidden), bhh = rng.floats(4 * hidden)
            let h0 = rng.floats(hidden), c0 = rng.floats(hidden)
            // textbook formula in Double, PyTorch gate order (i, f, g, o)
            var eh = [Float](repeating: 0, count: hidden), ec = [Float](repeating: 0, count: hidden)
            func gate(_ r: Int) -> Double {
                var s = Double(bih[r] + bhh[r])
                for j in 0..<inputSize { s += Double(wih[r * inputSize + j]) * Double(x[j]) }
                for j in 0..<hidden { s += Double(whh[r * hidden + j]) * Double(h0[j]) }
                return s
            }
            func sig(_ v: Double) -> Double { 1 / (1 + exp(-v)) }
            for j in 0..<hidden {
                let i = sig(gate(j)), f = sig(gate(hidden + j)), g = tanh(gate(2 * hidden + j)), o = sig(gate(3 * hidden + j))
                let c = f * Double(c0[j]) + i * g
                ec[j] = Float(c)
                eh[j] = Float(o * tanh(c))
            }
            for reference in [true, false] {
                forEachISA { isa in
                    var h = h0, c = c0
                    KernelConfig.forceReference = reference
                    lstmCell(x: x, inputSize: inputSize, h: &h, c: &c, hiddenSize: hidden, weightIH: wih, weightHH: whh, biasIH: bih, biasHH: bhh)
                    KernelConfig.forceReference = false
                    assertClose(c, ec, abs: 1e-4, rel: 1e-4, "lstm c \(isa) ref \(reference) in\(inputSize) h\(hidden)")
                    assertClose(h, eh, abs: 1e-4, rel: 1e-4, "lstm h \(isa) ref \(reference) in\(inputSize) h\(hidden)")
                }
            }
        }
    }
}
