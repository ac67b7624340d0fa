// Everything the picture modalities see in one picture, for `sightline look`: the same
// analysers the daemon runs on a stream's frames (so what `look` shows is what a stream
// stores), with boxes turned back into pixels of the picture. Motion compares the picture
// with an earlier one when there is one.
import Foundation
import ImageOps
import MediaIO
import SightlineCore

/// What is seen in one picture. Boxes are [x0, y0, x1, y1] in pixels of the picture.
public struct PictureReport: Sendable, Codable, Equatable {
    public struct Detection: Sendable, Codable, Equatable {
        public var box: [Double]
        public var score: Double
    }
    public struct Label: Sendable, Codable, Equatable {
        public var label: String
        public var score: Double
    }
    public struct TextLine: Sendable, Codable, Equatable {
        public var text: String
        public var score: Double
        public var box: [Double]
    }
    public var width: Int
    public var height: Int
    public var people: [Detection] = []
    public var faces: [Detection] = []
    public var labels: [Label] = []
    public var text: [TextLine] = []
    /// Fraction of the picture that changed since the earlier picture (0 without one).
    public var motion: Double = 0
}

/// The picture modalities' analysers, loaded once, applied to single pictures.
public struct PictureLook: Sendable {
    /// The names of the registry entries `look` runs, in the order they are reported.
    public static let modalities = ["people", "faces", "labels", "ocr"]

    /// Each modality's analyser and, for `evidence`'s frames of one video, its `StillFrames`.
    let analysers: [(name: String, analyser: any FrameAnalyser, still: StillFrames?)]
    /// Models loaded, by name.
    public let modelsLoaded: [String]

    /// Loads the picture modalities' models as `setup` names them ("none" turns one off).
    public init(setup: EncoderSetup, registry: EncoderRegistry = .standard) throws {
        var analysers: [(String, any FrameAnalyser, StillFrames?)] = []
        var loaded: [String] = []
        for name in Self.modalities {
            guard let d = registry.descriptor(named: name),
                  let prepared = try d.prepare(setup) as? PreparedFrameModel, let make = prepared.makeAnalyser else { continue }
            analysers.append((name, make(), prepared.makeStillFrames()))
            loaded += prepared.modelsLoaded
        }
        self.analysers = analysers
        modelsLoaded = loaded
    }

    /// Every analyser's evidence for the rgb8 `frame` shown over `span` (boxes as fractions),
    /// as a stream stores it: people, faces, labels with the image embedding, text lines. The
    /// frames of one video in time order: a frame that shows what the last analysed one
    /// showed gets its evidence again, as on a stream (`StillFrames`).
    public func evidence(_ frame: VideoFrame, span: FrameSpan) throws -> [Evidence] {
        let picture = try FrameEncoder.picture(frame)
        var out: [Evidence] = []
        for (_, analyser, still) in analysers { out += try analyser.analyse(picture, span: span, reusing: still) }
        return out
    }

    /// What the models see in the rgb8 `frame` (boxes in its pixels, whatever size it is
    /// analysed at); `earlier` (any size) gives the motion figure.
    public func report(_ frame: VideoFrame, earlier: VideoFrame? = nil) throws -> PictureReport {
        var r = PictureReport(width: frame.width, height: frame.height)
        let picture = try FrameEncoder.picture(frame)
        let span = FrameSpan(startMs: 0, endMs: 1)
        func pixels(_ region: Region?) -> [Double] {
            guard let g = region else { return [0, 0, Double(frame.width), Double(frame.height)] }
            let w = Double(frame.width), h = Double(frame.height)
            return [g.x0 * w, g.y0 * h, g.x1 * w, g.y1 * h].map { ($0 * 10).rounded() / 10 }
        }
        for (_, analyser, _) in analysers {
            for e in try analyser.analyse(picture, span: span) {
                let score = e.confidence ?? 0
                switch e.modality {
                case .person: r.people.append(.init(box: pixels(e.region), score: score))
                case .face: r.faces.append(.init(box: pixels(e.region), score: score))
                case .label: r.labels.append(.init(label: e.text ?? "", score: score))
                case .ocr: r.text.append(.init(text: e.text ?? "", score: score, box: pixels(e.region)))
                default: continue
                }
            }
        }
        if let earlier {
            r.motion = MotionEncoder.changedFraction(MotionEncoder.thumbnail(earlier), MotionEncoder.thumbnail(frame))
        }
        return r
    }
}

extension PictureReport {
    /// Plain-text report, one line per finding.
    public func text(source: String) -> String {
        func box(_ b: [Double]) -> String { "[" + b.map { String(format: "%.0f", $0) }.joined(separator: ", ") + "]" }
        var lines = ["\(source): \(width)x\(height)"]
        lines.append("people: \(people.count)")
        lines += people.map { "  person \(String(format: "%.2f", $0.score)) \(box($0.box))" }
        lines.append("faces: \(faces.count)")
        lines += faces.map { "  face \(String(format: "%.2f", $0.score)) \(box($0.box))" }
        lines.append("labels: " + (labels.isEmpty ? "none above the floor" : labels.map { "\($0.label) \(String(format: "%.2f", $0.score))" }.joined(separator: ", ")))
        lines.append("text: \(text.count) line\(text.count == 1 ? "" : "s")")
        lines += text.map { "  \"\($0.text)\" \(String(format: "%.2f", $0.score)) \(box($0.box))" }
        lines.append("motion: \(String(format: "%.3f", motion))")
        return lines.joined(separator: "\n")
    }

    /// `picture` with people (green), faces (yellow) and text lines (red) outlined.
    public func drawn(on picture: RGBImage) -> RGBImage {
        func box(_ b: [Double]) -> Box { Box(x0: Float(b[0]), y0: Float(b[1]), x1: Float(b[2]), y1: Float(b[3])) }
        return picture.drawing(people.map { (box($0.box), (0, 220, 0)) } + faces.map { (box($0.box), (255, 210, 0)) }
                               + text.map { (box($0.box), (230, 30, 30)) })
    }
}
