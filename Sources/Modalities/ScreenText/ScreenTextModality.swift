// The `ocr` modality: text on screen (PP-OCRv5 mobile: detection, orientation, recognition)
// on sampled frames. Each line is one piece of evidence with its text, the recogniser's
// confidence and its box. A line still on screen in the next analysed frame (same text,
// overlapping box) is marked as continuing, and the store extends the stored row instead
// of adding one, so a caption or a sign shown for a minute is one row with its time span.
//
// Text is read again only where the picture changed since the last frame read: each frame's
// 64×36 luma thumbnail (the motion modality's) is compared with the last read frame's, cell by
// cell, with the motion modality's pixel threshold. No cell changed: the lines of that frame
// are given again (continuing). Some changed: only the areas around the changed cells
// (`FrameChange.changedAreas`: nearby cells grouped, each group's box widened by a cell),
// each widened by every earlier line it touches, are read, one crop each, and the earlier
// lines outside them are given again — unless together they cover more than
// `wholeFrameShare` of the frame, which is then read whole. Either way, a line the detector
// finds again where an earlier line was, over cells that did not change, keeps its text
// without being recognised again. The detector's input is capped at `detectionMaxSide` on
// its longer side (PaddleOCR's `limit_type="max"` default); lines are recognised from the
// full-size picture.
import Foundation
import ImageOps
import OCR
import SightlineCore
import Synchronization

/// Text lines of each analysed frame, with the lines of the frame before to join sightings.
final class ScreenTextAnalyser: FrameAnalyser {
    /// Lines whose recogniser confidence is below this are mostly misreadings of texture.
    static let minConfidence: Float = 0.5
    /// Boxes of one line in consecutive frames overlap at least this much (the line may shift
    /// a little as the camera moves or the text scrolls).
    static let sameLineIoU = 0.3
    /// The text detector's input is at most this many pixels on its longer side (PaddleOCR's
    /// `det_limit_side_len` with `limit_type="max"`): a 720p frame is detected at 960×544.
    static let detectionMaxSide = 960
    /// A line detected again where an earlier one was keeps its text when their boxes overlap
    /// this much and no cell under it changed (the detector sees the same pixels; its box moves
    /// by a pixel or two with the crop or scale it ran at).
    static let reuseIoU = 0.8
    /// A changed area larger than this share of the frame costs about what the frame does: read it whole.
    static let wholeFrameShare = 0.5

    struct Line {
        var text: String
        var score: Float
        var region: Region
        /// 180 when the orientation classifier turned the line before reading it.
        var angle: Int = 0
    }

    /// What the last read frame showed: its thumbnail and its lines.
    struct Read {
        var thumbnail: [UInt8]
        var lines: [Line]
    }

    let reader: SharedModel<TextReader>
    /// The last read frame; one stream's frames arrive in order.
    private let previous = Mutex<Read?>(nil)
    private let reused = Mutex(0)

    /// Lines detected again that kept an earlier line's text, so far.
    var reusedLines: Int { reused.withLock { $0 } }

    init(reader: SharedModel<TextReader>) { self.reader = reader }

    func analyse(_ image: RGBImage, span: FrameSpan) throws -> [Evidence] {
        let thumbnail = FrameChange.thumbnail(image)
        let before = previous.withLock { $0 }
        let lines: [Line]
        if let before, case let cells = FrameChange.changedCells(before.thumbnail, thumbnail),
           case let changed = FrameChange.changedAreas(cells: cells), !changed.isEmpty {
            let areas = Self.widened(changed, by: before.lines.map(\.region))
            if areas.reduce(0, { $0 + $1.area }) > Self.wholeFrameShare {
                lines = try read(image, earlier: before.lines, changedCells: cells)
            } else {
                let kept = before.lines.filter { line in !areas.contains { line.region.intersects($0) } }
                var found: [Line] = []
                for area in areas {
                    let crop = try image.cropped(to: area)
                    found += try read(crop.image, at: crop.region, earlier: before.lines, changedCells: cells)
                }
                lines = (kept + found).sorted { ($0.region.y0, $0.region.x0) < ($1.region.y0, $1.region.x0) }
            }
        } else if let before {
            lines = before.lines // nothing changed since the last read frame
        } else {
            lines = try read(image)
        }
        previous.withLock { $0 = Read(thumbnail: thumbnail, lines: lines) }
        let earlier = before?.lines ?? []
        return lines.map { line in
            let continues = earlier.contains { $0.text == line.text && $0.region.iou(line.region) >= Self.sameLineIoU }
            return Evidence(modality: .ocr, startMs: span.startMs, endMs: span.endMs, text: line.text,
                            confidence: Double(line.score), region: line.region, continues: continues)
        }
    }

    /// The confident lines of `image`, the part `frame` of the frame (fractions), boxes as
    /// fractions of the frame. A detected line over cells that did not change since `earlier`
    /// was read (`changedCells`), where an earlier line was (boxes overlapping `reuseIoU`),
    /// keeps that line's text without being recognised again: a caption read whole because a
    /// person walked across the rest of the picture costs the detector only.
    private func read(_ image: RGBImage, at frame: Region = Region(x0: 0, y0: 0, x1: 1, y1: 1), earlier: [Line] = [],
                      changedCells: [Bool]? = nil) throws -> [Line] {
        func inFrame(_ box: Box) -> Region {
            let r = Region(box, width: image.width, height: image.height)
            return Region(x0: frame.x0 + r.x0 * (frame.x1 - frame.x0), y0: frame.y0 + r.y0 * (frame.y1 - frame.y0),
                          x1: frame.x0 + r.x1 * (frame.x1 - frame.x0), y1: frame.y0 + r.y1 * (frame.y1 - frame.y0))
        }
        var known: ((Box) -> (text: String, score: Float, angle: Int)?)?
        if let cells = changedCells, !earlier.isEmpty {
            known = { box in
                let region = inFrame(box)
                guard FrameChange.isUnchanged(region, cells: cells),
                      let line = earlier.first(where: { $0.region.iou(region) >= Self.reuseIoU }) else { return nil }
                self.reused.withLock { $0 += 1 }
                return (line.text, line.score, line.angle)
            }
        }
        return try reader.run { try $0.read(image, detectionMaxSide: Self.detectionMaxSide, known: known) }.filter {
            $0.score >= Self.minConfidence && !$0.text.trimmingCharacters(in: .whitespaces).isEmpty
        }.map { Line(text: $0.text, score: $0.score, region: inFrame($0.box), angle: $0.angle) }
    }

    /// `areas` grown until no line of `lines` straddles an edge (a line an area touches is
    /// read again whole) and joined where they then overlap.
    static func widened(_ areas: [Region], by lines: [Region]) -> [Region] {
        var areas = areas
        var grew = true
        while grew {
            grew = false
            for i in areas.indices {
                for l in lines where l.intersects(areas[i]) && areas[i].union(l) != areas[i] {
                    areas[i] = areas[i].union(l)
                    grew = true
                }
            }
            let joined = Region.joined(areas)
            grew = grew || joined.count != areas.count
            areas = joined
        }
        return areas
    }
}

extension EncoderDescriptor {
    /// At most this many frames a second are read for text unless the stream says otherwise.
    public static let ocrFps = 0.5

    /// `ocr`: text on screen, with boxes (PP-OCRv5 mobile).
    public static let ocr = picture(
        name: "ocr", summary: "text on screen, with boxes; a line shown for a while is one row (PP-OCRv5 mobile)", fps: ocrFps, reusesStillFrames: false,
        setting: ModelSetting(key: "ocr", kind: .choice(["ppocr-v5-mobile", "none"]), defaultValue: .name("ppocr-v5-mobile"),
                              help: "On-screen text reader: \"ppocr-v5-mobile\" or \"none\"."),
        requiredFiles: [TextReader.files.det, TextReader.files.cls, TextReader.files.rec, TextReader.files.keys],
        load: { try TextReader(directory: $0.path) },
        analyser: { ScreenTextAnalyser(reader: $0) })
}
