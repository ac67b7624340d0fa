// The self-attention cache under beam reordering: after any reorder, slot i must read
// exactly what its parent slot held before (the filled positions), whether it took the
// parent's buffer over or copied it, and appends to one slot must not show in another.
import Foundation
import TestSupport
@testable import Whisper
import XCTest

final class DecoderStateTests: XCTestCase {
    private static let directory = URL(fileURLWithPath: Fixtures.path("speech/whisper-hf-tiny"))

    func testReorderGivesEverySlotItsParentsCache() throws {
        let c = try WhisperModel(directory: Self.directory).config
        let d = c.dModel, hd = d / c.decoderHeads, slots = 4
        let state = WhisperDecoderState(config: c, slots: slots)
        // Expected cache per slot: (layer, position) -> the qkv row appended there.
        var expected = [[[Float]]](repeating: [], count: slots) // slot -> position -> row (3d)
        func append(slot: Int, position: Int, tag: Float) {
            let row = (0..<3 * d).map { tag + Float($0) / 1000 }
            for l in 0..<c.decoderLayers {
                row.withUnsafeBufferPointer {
                    state.appendSelf(layer: l, slot: slot, position: position, qkvRows: $0.baseAddress!, count: 1)
                }
            }
            if position == expected[slot].count { expected[slot].append(row) } else { expected[slot][position] = row }
        }
        func check(_ label: String) {
            for s in 0..<expected.count {
                for l in 0..<c.decoderLayers {
                    let keys = state.selfKey(layer: l, slot: s), values = state.selfValue(layer: l, slot: s)
                    for (p, row) in expected[s].enumerated() {
                        for h in 0..<c.decoderHeads {
                            for j in 0..<hd {
                                let at = h * state.capacity * hd + p * hd + j
                                guard keys[at] == row[d + h * hd + j], values[at] == row[2 * d + h * hd + j] else {
                                    return XCTFail("\(label): slot \(s) layer \(l) position \(p) head \(h) differs")
                                }
                            }
                        }
                    }
                }
            }
        }
        // A prompt in slot 0, then fanned out to every slot (three copies, one takeover).
        for p in 0..<3 { append(slot: 0, position: p, tag: Float(p)) }
        state.reorder(source: Array(repeating: 0, count: slots), length: 3)
        expected = Array(repeating: expected[0], count: slots)
        check("fan-out")
        var length = 3
        for (step, source) in [[3, 2, 1, 0], [1, 1, 2, 2], [0, 0, 0, 1], [2, 3, 1, 0], [3, 3]].enumerated() {
            for s in 0..<slots { append(slot: s, position: length, tag: Float(100 * (step + 1) + 10 * s)) }
            length += 1
            let before = expected
            state.reorder(source: source, length: length)
            expected = source.map { before[$0] }
            XCTAssertEqual(Array(state.lengths.prefix(source.count)), source.map { _ in length }, "lengths after \(source)")
            check("after reorder \(source)")
            if source.count < slots { break }
        }
    }
}
