// Motion in a window: the fraction of pixels whose luma changed by more than a threshold
// between consecutive sampled frames (including the last frame of the previous window), on
// a 64x36 luma thumbnail so the cost is the same for any resolution. Windows above
// `reportThreshold` also get the searchable text "motion".
import Foundation
import MediaIO
import SightlineCore
import Synchronization

public final class MotionEncoder: WindowEncoder {
    public let name = "motion"
    /// Frames as sampled, any size: the thumbnail below costs the same for every resolution.
    public let input = EncoderInput.frames
    static let thumbWidth = 64
    static let thumbHeight = 36
    /// Luma difference (0...255) that counts a thumbnail pixel as changed; above sensor noise.
    static let pixelThreshold = 24
    /// Changed fraction from which a window is labelled "motion".
    public static let reportThreshold = 0.02

    /// (36, 64) luma of the last frame seen; the pipeline calls encode serially, the lock
    /// only makes that assumption safe.
    private let previous = Mutex<[UInt8]?>(nil)

    public init() {}

    public func encode(_ window: MediaWindow) async throws -> [Evidence] {
        guard !window.frames.isEmpty else { return [] }
        var thumbs = window.frames.map(Self.thumbnail)
        let before = previous.withLock { $0 }
        previous.withLock { $0 = thumbs.last }
        if let before { thumbs.insert(before, at: 0) }
        guard thumbs.count >= 2 else { return [] }
        var maxFraction = 0.0
        for i in 1..<thumbs.count { maxFraction = max(maxFraction, Self.changedFraction(thumbs[i - 1], thumbs[i])) }
        return [Evidence(modality: .motion, startMs: window.startMs, endMs: window.endMs,
                         text: maxFraction >= Self.reportThreshold ? "motion" : nil, value: maxFraction)]
    }

    /// (36, 64) luma thumbnail by box averaging of an rgb8 or planar f32 frame.
    static func thumbnail(_ f: VideoFrame) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: thumbWidth * thumbHeight)
        guard f.width > 0, f.height > 0 else { return out }
        for ty in 0..<thumbHeight {
            let y0 = ty * f.height / thumbHeight, y1 = max(y0 + 1, (ty + 1) * f.height / thumbHeight)
            for tx in 0..<thumbWidth {
                let x0 = tx * f.width / thumbWidth, x1 = max(x0 + 1, (tx + 1) * f.width / thumbWidth)
                var sum = 0.0
                // Sample a 4x4 grid inside the box: plenty for a change detector, and cheap.
                let sy = max(1, (y1 - y0) / 4), sx = max(1, (x1 - x0) / 4)
                var n = 0
                var y = y0
                while y < y1 {
                    var x = x0
                    while x < x1 {
                        let (r, g, b) = pixel(f, x, y)
                        sum += 0.299 * r + 0.587 * g + 0.114 * b
                        n += 1
                        x += sx
                    }
                    y += sy
                }
                out[ty * thumbWidth + tx] = UInt8(clamping: Int((sum / Double(n)).rounded()))
            }
        }
        return out
    }

    @inline(__always)
    static func pixel(_ f: VideoFrame, _ x: Int, _ y: Int) -> (Double, Double, Double) {
        switch f.layout {
        case .rgb8:
            let i = (y * f.width + x) * 3
            guard i + 2 < f.rgb.count else { return (0, 0, 0) }
            return (Double(f.rgb[i]), Double(f.rgb[i + 1]), Double(f.rgb[i + 2]))
        case .planarF32:
            let plane = f.width * f.height
            let i = y * f.width + x
            guard i + 2 * plane < f.planar.count else { return (0, 0, 0) }
            return (Double(f.planar[i]) * 255, Double(f.planar[plane + i]) * 255, Double(f.planar[2 * plane + i]) * 255)
        }
    }

    static func changedFraction(_ a: [UInt8], _ b: [UInt8]) -> Double {
        var changed = 0
        for i in 0..<min(a.count, b.count) where abs(Int(a[i]) - Int(b[i])) > pixelThreshold { changed += 1 }
        return Double(changed) / Double(max(1, min(a.count, b.count)))
    }
}

extension EncoderDescriptor {
    /// `motion`: changed-pixel fraction between sampled frames (no model).
    public static let motion = EncoderDescriptor(
        name: "motion", summary: "fraction of the picture that changed between sampled frames (no model)",
        input: .frames, enabledByDefault: true, prepare: { _ in StatelessEncoder { MotionEncoder() } })
}
