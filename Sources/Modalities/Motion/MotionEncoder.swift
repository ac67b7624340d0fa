// Motion in a window, against a slowly updated background: each sampled frame becomes a
// 64x36 luma thumbnail (the same cost for any resolution); the background is a running
// average of the thumbnails with a time constant of `backgroundSeconds`, so a car that
// parks becomes background after a minute while a person walking through stays foreground.
// A thumbnail pixel more than `pixelThreshold` from the background is changed; the changed
// fraction is the frame's motion score and the changed pixels' connected groups are its
// motion boxes. Per window: one `motion` evidence with the largest score of its frames (text
// "motion" from `reportThreshold` on, as a searchable word), and for every frame at or
// above that threshold one `motion` evidence per box (its region; value = the fraction of
// the box's pixels that changed), so later stages can look where something moves.
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
    static let pixelThreshold: Float = 24
    /// Changed fraction from which a window is labelled "motion".
    public static let reportThreshold = 0.02
    /// The background forgets with this time constant (seconds of media time).
    static let backgroundSeconds = 30.0
    /// Connected changed pixels fewer than this (of 64x36) are noise, not a moving thing.
    static let minBoxPixels = 4

    /// The pipeline calls encode serially; the lock only makes that assumption safe.
    private let background = Mutex(MotionBackground())

    public init() {}

    public func encode(_ window: MediaWindow) async throws -> [Evidence] {
        guard !window.frames.isEmpty else { return [] }
        var maxFraction: Double? = nil
        var boxes: [Evidence] = []
        for (i, frame) in window.frames.enumerated() {
            guard let changed = background.withLock({ $0.changed(frame) }) else { continue }
            let fraction = Double(changed.filter { $0 }.count) / Double(changed.count)
            maxFraction = max(maxFraction ?? 0, fraction)
            guard fraction >= Self.reportThreshold else { continue }
            let end = i + 1 < window.frames.count ? window.frames[i + 1].ptsMs : window.endMs
            boxes += Self.regions(changed).map { region, filled in
                Evidence(modality: .motion, startMs: frame.ptsMs, endMs: max(end, frame.ptsMs + 1), value: filled, region: region)
            }
        }
        guard let maxFraction else { return [] }
        return [Evidence(modality: .motion, startMs: window.startMs, endMs: window.endMs,
                         text: maxFraction >= Self.reportThreshold ? "motion" : nil, value: maxFraction)] + boxes
    }

    /// The bounding boxes of the 8-connected groups of changed thumbnail pixels (at least
    /// `minBoxPixels` each), as fractions of the frame, with the fraction of each box changed.
    static func regions(_ changed: [Bool]) -> [(Region, Double)] {
        let w = thumbWidth, h = thumbHeight
        var label = [Int](repeating: -1, count: w * h)
        var out: [(Region, Double)] = []
        var stack: [Int] = []
        for start in 0..<(w * h) where changed[start] && label[start] < 0 {
            label[start] = start
            stack = [start]
            var count = 0, x0 = w, y0 = h, x1 = -1, y1 = -1
            while let p = stack.popLast() {
                count += 1
                let px = p % w, py = p / w
                x0 = min(x0, px); x1 = max(x1, px); y0 = min(y0, py); y1 = max(y1, py)
                for dy in -1...1 {
                    for dx in -1...1 {
                        let nx = px + dx, ny = py + dy
                        guard nx >= 0, ny >= 0, nx < w, ny < h else { continue }
                        let q = ny * w + nx
                        if changed[q] && label[q] < 0 { label[q] = start; stack.append(q) }
                    }
                }
            }
            guard count >= minBoxPixels else { continue }
            let area = Double((x1 - x0 + 1) * (y1 - y0 + 1))
            out.append((Region(x0: Double(x0) / Double(w), y0: Double(y0) / Double(h),
                               x1: Double(x1 + 1) / Double(w), y1: Double(y1 + 1) / Double(h)), Double(count) / area))
        }
        return out
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

    /// Fraction of thumbnail pixels that differ by more than `pixelThreshold` between two thumbnails.
    static func changedFraction(_ a: [UInt8], _ b: [UInt8]) -> Double {
        var changed = 0
        for i in 0..<min(a.count, b.count) where Float(abs(Int(a[i]) - Int(b[i]))) > pixelThreshold { changed += 1 }
        return Double(changed) / Double(max(1, min(a.count, b.count)))
    }
}

/// The slowly updated background of a stream's frames: a running average of their luma
/// thumbnails with the time constant `MotionEncoder.backgroundSeconds` (of media time).
struct MotionBackground {
    /// (36, 64) background luma; nil before the first frame.
    private var luma: [Float]? = nil
    private var ptsMs: Int64 = 0

    /// Which (36, 64) thumbnail pixels of `frame` differ from the background by more than
    /// `MotionEncoder.pixelThreshold`; then `frame` is blended in. nil for the first frame,
    /// which becomes the background (there is nothing to compare it with). Frames in time order.
    mutating func changed(_ frame: VideoFrame) -> [Bool]? {
        let thumb = MotionEncoder.thumbnail(frame).map(Float.init)
        guard var bg = luma else {
            luma = thumb
            ptsMs = frame.ptsMs
            return nil
        }
        let mask = zip(thumb, bg).map { abs($0 - $1) > MotionEncoder.pixelThreshold }
        let dt = Double(max(0, frame.ptsMs - ptsMs)) / 1000
        let alpha = Float(1 - exp(-dt / MotionEncoder.backgroundSeconds))
        for k in bg.indices { bg[k] += alpha * (thumb[k] - bg[k]) }
        luma = bg
        ptsMs = frame.ptsMs
        return mask
    }
}

extension EncoderDescriptor {
    /// `motion`: changed fraction against a slowly updated background, and where (no model).
    public static let motion = EncoderDescriptor(
        name: "motion", summary: "how much of the picture moves against its background, and where (no model)",
        input: .frames, enabledByDefault: true, prepare: { _ in StatelessEncoder { MotionEncoder() } })
}
