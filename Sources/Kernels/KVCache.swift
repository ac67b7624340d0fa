// Per-layer key/value cache for autoregressive decoders (Whisper's decoder self-attention,
// and its cross-attention keys/values computed once per audio window). Stores keys and
// values head-major (heads, capacity, headDim), allocated once; `append` takes the
// token-major rows a Linear layer produces.
public final class KVCache: @unchecked Sendable {
    public let heads: Int
    public let headDim: Int
    public let capacity: Int
    /// Positions filled so far.
    public private(set) var count = 0
    private let keys: UnsafeMutablePointer<Float>   // (heads, capacity, headDim)
    private let values: UnsafeMutablePointer<Float> // (heads, capacity, headDim)

    public init(heads: Int, headDim: Int, capacity: Int) throws {
        guard heads > 0, headDim > 0, capacity > 0 else {
            throw KernelError.invalidArgument(what: "KVCache(heads: \(heads), headDim: \(headDim), capacity: \(capacity))",
                                              reason: "all sizes must be > 0")
        }
        self.heads = heads
        self.headDim = headDim
        self.capacity = capacity
        keys = .allocate(capacity: heads * capacity * headDim)
        values = .allocate(capacity: heads * capacity * headDim)
        keys.initialize(repeating: 0, count: heads * capacity * headDim)
        values.initialize(repeating: 0, count: heads * capacity * headDim)
    }

    deinit {
        keys.deallocate()
        values.deallocate()
    }

    /// Layout of the stored keys / values for `attention`.
    public var layout: HeadLayout { .headMajor(rows: capacity, headDim: headDim) }
    public var keyPointer: UnsafePointer<Float> { UnsafePointer(keys) }
    public var valuePointer: UnsafePointer<Float> { UnsafePointer(values) }

    /// Forgets all positions (the storage is reused).
    public func reset() { count = 0 }

    /// Appends `tokens` positions given token-major: k, v (tokens, heads * headDim).
    public func append(keys k: UnsafePointer<Float>, values v: UnsafePointer<Float>, tokens: Int) throws {
        guard tokens >= 0 else { throw KernelError.invalidArgument(what: "KVCache.append", reason: "tokens \(tokens) < 0") }
        guard count + tokens <= capacity else { throw KernelError.cacheFull(capacity: capacity, count: count, appending: tokens) }
        let width = heads * headDim
        for t in 0..<tokens {
            for h in 0..<heads {
                let dst = h * capacity * headDim + (count + t) * headDim
                (keys + dst).update(from: k + t * width + h * headDim, count: headDim)
                (values + dst).update(from: v + t * width + h * headDim, count: headDim)
            }
        }
        count += tokens
    }

    /// Attention of `tq` query rows (token-major (tq, heads * headDim)) over all cached
    /// positions; output token-major (tq, heads * headDim). `causal` treats the queries as
    /// the last tq cached positions (append their keys first).
    public func attend(query: UnsafePointer<Float>, tokens tq: Int, causal: Bool, scale: Float? = nil,
                       output: UnsafeMutablePointer<Float>, pool: ThreadPool = .shared) {
        guard count > 0 else { return }
        let tm = HeadLayout.tokenMajor(heads: heads, headDim: headDim)
        attention(q: query, qLayout: tm, k: keyPointer, kLayout: layout, v: valuePointer, vLayout: layout, heads: heads,
                  tq: tq, tk: count, headDim: headDim, causal: causal, scale: scale, output: output, outputLayout: tm, pool: pool)
    }
}
