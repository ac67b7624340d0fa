// HeadLayout: where a (heads, rows, headDim) attention operand's elements live, so one
// attention kernel serves head-major, token-major and fused-QKV buffers without copies.

/// Where element (head, row, c) of a (heads, rows, headDim) operand lives:
/// base[head * headStride + row * rowStride + c].
public struct HeadLayout: Sendable, Equatable {
    public var headStride: Int
    public var rowStride: Int

    public init(headStride: Int, rowStride: Int) {
        self.headStride = headStride
        self.rowStride = rowStride
    }

    /// Contiguous (heads, rows, headDim).
    public static func headMajor(rows: Int, headDim: Int) -> HeadLayout { HeadLayout(headStride: rows * headDim, rowStride: headDim) }
    /// Contiguous (rows, heads * headDim), head h in columns h*headDim ..< (h+1)*headDim.
    public static func tokenMajor(heads: Int, headDim: Int) -> HeadLayout { HeadLayout(headStride: headDim, rowStride: heads * headDim) }
}
