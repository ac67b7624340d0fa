// Decoder scratch and caches for one audio window: the cross-attention keys/values of
// every layer (computed once from the encoder output) and, per hypothesis slot (beam), a
// self-attention cache head-major (layers, buffers, heads, capacity, headDim). A slot names
// its cache buffer through `buffer`, so when beam search reorders slots with `reorder` a
// hypothesis that continues its parent takes the parent's buffer over; only a second child
// of one parent copies (the filled positions). Everything is allocated once per model and
// reused across windows.
import Kernels

public final class WhisperDecoderState: @unchecked Sendable {
    public let slots: Int
    public let capacity: Int // decoder positions (448)
    let layers: Int, heads: Int, headDim: Int, d: Int
    let maxRows: Int
    /// (layers, 1500, 2d): per layer token-major [key | value] rows of the encoder output.
    let crossKV: UnsafeMutablePointer<Float>
    /// Per layer, the same keys and values packed per head for every step's attention.
    let cross: [PackedKeysValues]
    let encoderPositions: Int
    private let keys: UnsafeMutablePointer<Float>    // (layers, buffers = slots, heads, capacity, headDim)
    private let values: UnsafeMutablePointer<Float>  // same
    /// The cache buffer each slot reads and appends to (a permutation of 0..<slots).
    private var buffer: [Int]
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
        cross = (0..<layers).map { _ in PackedKeysValues(heads: c.decoderHeads, tokens: c.encoderPositions, headDim: c.dModel / c.decoderHeads) }
        let cache = layers * slots * heads * capacity * headDim
        keys = .allocate(capacity: cache); values = .allocate(capacity: cache)
        buffer = Array(0..<slots)
        lengths = Array(repeating: 0, count: slots)
        x = .allocate(capacity: maxRows * d); h = .allocate(capacity: maxRows * d)
        att = .allocate(capacity: maxRows * d); big = .allocate(capacity: maxRows * 4 * d)
    }

    deinit {
        for p in [crossKV, keys, values, x, h, att, big] { p.deallocate() }
    }

    public func reset() { for i in 0..<slots { lengths[i] = 0 } }

    var selfLayout: HeadLayout { .headMajor(rows: capacity, headDim: headDim) }
    private func base(layer: Int, buffer b: Int) -> Int { (layer * slots + b) * heads * capacity * headDim }
    private func base(layer: Int, slot: Int) -> Int { base(layer: layer, buffer: buffer[slot]) }
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
        precondition(source.count <= slots && source.allSatisfy { (0..<slots).contains($0) }, "reorder: bad source \(source)")
        let old = buffer, oldLengths = lengths
        var claimed = [Bool](repeating: false, count: slots)
        var next = [Int](repeating: -1, count: slots)
        // A parent's first child takes the parent's buffer as it is.
        for (i, s) in source.enumerated() where !claimed[old[s]] {
            next[i] = old[s]
            claimed[old[s]] = true
        }
        // Further children copy into buffers no new slot took, which no child reads from.
        var unclaimed = (0..<slots).filter { !claimed[$0] }
        for (i, s) in source.enumerated() where next[i] < 0 {
            let dst = unclaimed.removeFirst()
            for l in 0..<layers {
                for hh in 0..<heads {
                    let from = base(layer: l, buffer: old[s]) + hh * capacity * headDim
                    let to = base(layer: l, buffer: dst) + hh * capacity * headDim
                    (keys + to).update(from: keys + from, count: length * headDim)
                    (values + to).update(from: values + from, count: length * headDim)
                }
            }
            next[i] = dst
        }
        // Slots past the new hypotheses keep the leftover buffers (their contents are stale).
        for i in source.count..<slots { next[i] = unclaimed.removeFirst() }
        buffer = next
        for (i, s) in source.enumerated() { lengths[i] = oldLengths[s] }
    }
}
