// Decoder scratch and caches for one audio window: the cross-attention keys/values of
// every layer (computed once from the encoder output) and, per hypothesis slot (beam), a
// self-attention cache head-major (layers, slots, heads, capacity, headDim). Beam search
// reorders slots with `reorder`, which copies only the filled positions into a second
// buffer and swaps. Everything is allocated once per model and reused across windows.
import Kernels

public final class WhisperDecoderState: @unchecked Sendable {
    public let slots: Int
    public let capacity: Int // decoder positions (448)
    let layers: Int, heads: Int, headDim: Int, d: Int
    let maxRows: Int
    /// (layers, 1500, 2d): per layer token-major [key | value] rows of the encoder output.
    let crossKV: UnsafeMutablePointer<Float>
    /// (layers, heads, headDim, 1500): the same keys transposed per head, so every decoder
    /// step's q·kᵀ streams contiguous rows (see `attention(keysTransposed:)`).
    let crossKeysT: UnsafeMutablePointer<Float>
    let encoderPositions: Int
    private var keys: UnsafeMutablePointer<Float>    // (layers, slots, heads, capacity, headDim)
    private var values: UnsafeMutablePointer<Float>  // same
    private var spareKeys: UnsafeMutablePointer<Float>
    private var spareValues: UnsafeMutablePointer<Float>
    /// Filled positions per slot.
    public private(set) var lengths: [Int]
    // Row scratch for up to maxRows decoder rows.
    let x: UnsafeMutablePointer<Float>   // (rows, d)
    let h: UnsafeMutablePointer<Float>   // (rows, d)
    let att: UnsafeMutablePointer<Float> // (rows, d)
    let big: UnsafeMutablePointer<Float> // (rows, 4d)

    public init(config c: WhisperConfig, slots: Int) {
        self.slots = slots
        capacity = c.decoderPositions
        layers = c.decoderLayers; heads = c.decoderHeads; d = c.dModel; headDim = c.dModel / c.decoderHeads
        maxRows = max(capacity, slots)
        encoderPositions = c.encoderPositions
        crossKV = .allocate(capacity: layers * c.encoderPositions * 2 * d)
        crossKeysT = .allocate(capacity: layers * d * c.encoderPositions)
        let cache = layers * slots * heads * capacity * headDim
        keys = .allocate(capacity: cache); values = .allocate(capacity: cache)
        spareKeys = .allocate(capacity: cache); spareValues = .allocate(capacity: cache)
        lengths = Array(repeating: 0, count: slots)
        x = .allocate(capacity: maxRows * d); h = .allocate(capacity: maxRows * d)
        att = .allocate(capacity: maxRows * d); big = .allocate(capacity: maxRows * 4 * d)
    }

    deinit {
        for p in [crossKV, crossKeysT, keys, values, spareKeys, spareValues, x, h, att, big] { p.deallocate() }
    }

    public func reset() { for i in 0..<slots { lengths[i] = 0 } }

    var selfLayout: HeadLayout { .headMajor(rows: capacity, headDim: headDim) }
    private func base(layer: Int, slot: Int) -> Int { (layer * slots + slot) * heads * capacity * headDim }
    func selfKey(layer: Int, slot: Int) -> UnsafePointer<Float> { UnsafePointer(keys + base(layer: layer, slot: slot)) }
    func selfValue(layer: Int, slot: Int) -> UnsafePointer<Float> { UnsafePointer(values + base(layer: layer, slot: slot)) }

    /// Stores the key/value parts of fused qkv rows (count, 3d) at positions start ..< start+count.
    func appendSelf(layer: Int, slot: Int, position start: Int, qkvRows: UnsafePointer<Float>, count: Int) {
        let b = base(layer: layer, slot: slot)
        for t in 0..<count {
            for hh in 0..<heads {
                let dst = b + hh * capacity * headDim + (start + t) * headDim
                (keys + dst).update(from: qkvRows + t * 3 * d + d + hh * headDim, count: headDim)
                (values + dst).update(from: qkvRows + t * 3 * d + 2 * d + hh * headDim, count: headDim)
            }
        }
        if layer == layers - 1 { lengths[slot] = start + count }
    }

    /// New slot i takes the cache of old slot source[i] (first `length` positions).
    func reorder(source: [Int], length: Int) {
        for l in 0..<layers {
            for (i, s) in source.enumerated() {
                for hh in 0..<heads {
                    let off = hh * capacity * headDim
                    (spareKeys + base(layer: l, slot: i) + off).update(from: keys + base(layer: l, slot: s) + off, count: length * headDim)
                    (spareValues + base(layer: l, slot: i) + off).update(from: values + base(layer: l, slot: s) + off, count: length * headDim)
                }
            }
        }
        swap(&keys, &spareKeys)
        swap(&values, &spareValues)
        let old = lengths
        for (i, s) in source.enumerated() where i < slots { lengths[i] = old[s] }
    }
}
