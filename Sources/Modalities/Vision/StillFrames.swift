// A sampled frame that shows what the last analysed frame of its stream showed gets that
// frame's evidence again, re-timed, instead of another pass through the model. "Shows the
// same" is the test the on-screen text reader uses for its partial re-reads (`FrameChange`):
// no cell of the 64×36 luma thumbnail moved by more than the motion modality's pixel
// threshold. Frames are compared with the last *analysed* frame, not the previous one, so a
// slow change (a light fading, a person edging in) adds up until the picture is analysed
// again. A fixed camera's empty scene, a slide, a paused shot cost one pass, however long
// they last; on the development clips 41 % of the frames at 1 fps show no change.
import Foundation
import ImageOps
import MediaIO
import SightlineCore
import Synchronization

/// Where two pictures differ, by their luma thumbnails (the motion modality's).
enum FrameChange {
    /// The 64×36 luma thumbnail of `image` (`MotionEncoder.thumbnail`).
    static func thumbnail(_ image: RGBImage) -> [UInt8] {
        MotionEncoder.thumbnail(VideoFrame(ptsMs: 0, width: image.width, height: image.height, layout: .rgb8, rgb: image.pixels))
    }

    /// Changed cells at most this many cells apart (Chebyshev distance) belong to one area:
    /// a gap of up to two unchanged cells (40 px of 720p) does not split a moving object or
    /// a line of new text.
    static let joinCells = 3

    /// Per thumbnail cell (row by row), whether it differs by more than the motion modality's
    /// pixel threshold; nil when the thumbnails are not both 64×36.
    static func changedCells(_ a: [UInt8], _ b: [UInt8]) -> [Bool]? {
        let n = MotionEncoder.thumbWidth * MotionEncoder.thumbHeight
        guard a.count == n, b.count == n else { return nil }
        return (0..<n).map { Float(abs(Int(a[$0]) - Int(b[$0]))) > MotionEncoder.pixelThreshold }
    }

    /// Whether no cell `region` (fractions of the frame) overlaps changed, by `changedCells`' mask.
    static func isUnchanged(_ region: Region, cells: [Bool]) -> Bool {
        let w = MotionEncoder.thumbWidth, h = MotionEncoder.thumbHeight
        guard cells.count == w * h else { return false }
        let x0 = max(0, Int((region.x0 * Double(w)).rounded(.down))), x1 = min(w, Int((region.x1 * Double(w)).rounded(.up)))
        let y0 = max(0, Int((region.y0 * Double(h)).rounded(.down))), y1 = min(h, Int((region.y1 * Double(h)).rounded(.up)))
        guard x0 < x1, y0 < y1 else { return false }
        for y in y0..<y1 { for x in x0..<x1 where cells[y * w + x] { return false } }
        return true
    }

    /// The bounding box of every area `changedAreas` gives; nil when no cell changed.
    static func changedArea(_ a: [UInt8], _ b: [UInt8]) -> Region? {
        let areas = changedAreas(a, b)
        guard let first = areas.first else { return nil }
        return areas.dropFirst().reduce(first) { $0.union($1) }
    }

    /// Where the thumbnail cells differ by more than the motion modality's pixel threshold, as
    /// disjoint boxes (fractions of the frame): the changed cells grouped by `joinCells`, each
    /// group's bounding box widened by one cell, overlapping boxes joined. Two cars at opposite
    /// corners are two small areas, not one box over the whole frame. Empty when nothing changed.
    static func changedAreas(_ a: [UInt8], _ b: [UInt8]) -> [Region] {
        changedAreas(cells: changedCells(a, b))
    }

    /// `changedAreas` from `changedCells`' mask (the whole frame when there is none).
    static func changedAreas(cells: [Bool]?) -> [Region] {
        let w = MotionEncoder.thumbWidth, h = MotionEncoder.thumbHeight
        guard var changed = cells else { return [Region(x0: 0, y0: 0, x1: 1, y1: 1)] }
        var boxes: [Region] = []
        for start in changed.indices where changed[start] {
            // One group: every changed cell within reach of one already in it.
            changed[start] = false
            var pending = [start]
            var x0 = w, y0 = h, x1 = -1, y1 = -1
            while let cell = pending.popLast() {
                let cx = cell % w, cy = cell / w
                x0 = min(x0, cx); x1 = max(x1, cx); y0 = min(y0, cy); y1 = max(y1, cy)
                for y in max(0, cy - joinCells)...min(h - 1, cy + joinCells) {
                    for x in max(0, cx - joinCells)...min(w - 1, cx + joinCells) where changed[y * w + x] {
                        changed[y * w + x] = false
                        pending.append(y * w + x)
                    }
                }
            }
            boxes.append(Region(x0: Double(max(0, x0 - 1)) / Double(w), y0: Double(max(0, y0 - 1)) / Double(h),
                                x1: Double(min(w, x1 + 2)) / Double(w), y1: Double(min(h, y1 + 2)) / Double(h)))
        }
        return Region.joined(boxes)
    }
}

/// One stream's last analysed frame for one picture modality, and its evidence.
public final class StillFrames: Sendable {
    private struct Analysed {
        var width: Int
        var height: Int
        var thumbnail: [UInt8]
        var evidence: [Evidence]
    }

    private let last = Mutex<Analysed?>(nil)
    private let reusedCount = Mutex(0)

    public init() {}

    /// Frames given the last analysed frame's evidence so far.
    public var reused: Int { reusedCount.withLock { $0 } }

    /// The evidence of `image` shown over `span`: the last analysed frame's again (re-timed to
    /// `span`) when `image` shows the same picture at the same size, else `analyse()`'s.
    func evidence(_ image: RGBImage, span: FrameSpan, analyse: () throws -> [Evidence]) throws -> [Evidence] {
        let thumbnail = FrameChange.thumbnail(image)
        if let seen = last.withLock({ $0 }), seen.width == image.width, seen.height == image.height,
           FrameChange.changedArea(seen.thumbnail, thumbnail) == nil
        {
            reusedCount.withLock { $0 += 1 }
            return seen.evidence.map { e in
                var e = e
                e.startMs = span.startMs
                e.endMs = span.endMs
                return e
            }
        }
        let found = try analyse()
        last.withLock { $0 = Analysed(width: image.width, height: image.height, thumbnail: thumbnail, evidence: found) }
        return found
    }
}

extension FrameAnalyser {
    /// `analyse`, or the last analysed frame's evidence again when `still` says the picture is the same.
    func analyse(_ image: RGBImage, span: FrameSpan, reusing still: StillFrames?) throws -> [Evidence] {
        guard let still else { return try analyse(image, span: span) }
        return try still.evidence(image, span: span) { try analyse(image, span: span) }
    }
}
