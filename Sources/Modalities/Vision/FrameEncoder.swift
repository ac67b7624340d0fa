// What every picture modality shares: each sampled frame of a window becomes an `RGBImage`
// and goes through a `FrameAnalyser` (a detector, a classifier, a text reader); the evidence
// of a frame holds from the frame's time until the next analysed frame (the last one until
// the window ends). Models are loaded once per daemon and shared by every stream, one call at
// a time (`SharedModel`): their kernels already use every core of the kernel pool.
import Foundation
import ImageOps
import MediaIO
import ModelIO
import SightlineCore
import Synchronization

/// The time a frame's evidence holds for, on the stream's timeline.
public struct FrameSpan: Sendable, Equatable {
    public var startMs: Int64
    public var endMs: Int64
    public init(startMs: Int64, endMs: Int64) {
        self.startMs = startMs
        self.endMs = endMs
    }
}

/// Turns one picture into evidence. An analyser belongs to one stream and sees its frames in
/// order, so it may keep state from frame to frame.
public protocol FrameAnalyser: Sendable {
    func analyse(_ image: RGBImage, span: FrameSpan) throws -> [Evidence]
}

/// A model shared by every stream's analyser, run by one caller at a time.
public final class SharedModel<Model>: @unchecked Sendable { // `model` is only touched under `lock`
    private let lock = NSLock()
    private let model: Model

    public init(_ model: Model) { self.model = model }

    /// `body` with exclusive use of the model.
    public func run<T>(_ body: (Model) throws -> T) rethrows -> T {
        lock.lock()
        defer { lock.unlock() }
        return try body(model)
    }
}

/// A `WindowEncoder` that runs its analyser on every frame the window holds.
public struct FrameEncoder: WindowEncoder {
    public let name: String
    public let input: EncoderInput
    var analyser: any FrameAnalyser
    /// When set, only the frames it admits are analysed (`MotionGate`).
    var gate: MotionGate?
    /// When set, a frame showing what the last analysed one showed gets its evidence again.
    let still: StillFrames?

    public init(name: String, input: EncoderInput, analyser: any FrameAnalyser, gate: MotionGate? = nil,
                still: StillFrames? = nil)
    {
        self.name = name
        self.input = input
        self.analyser = analyser
        self.gate = gate
        self.still = still
    }

    public func encode(_ window: MediaWindow) async throws -> [Evidence] {
        var out: [Evidence] = []
        let frames = gate.map { g in window.frames.filter(g.admits) } ?? window.frames
        for (i, frame) in frames.enumerated() {
            // A frame's evidence holds until the next analysed frame: a skipped frame showed
            // nothing new (that is why it was skipped).
            let next = i + 1 < frames.count ? frames[i + 1].ptsMs : window.endMs
            let span = FrameSpan(startMs: frame.ptsMs, endMs: max(next, frame.ptsMs + 1))
            out += try analyser.analyse(try Self.picture(frame), span: span, reusing: still)
        }
        return out
    }

    /// Pictures are analysed at most this large on their longer side. Every model shrinks its
    /// input far below it (SSDLite to 300², MobileNetV2 to 224², PP-OCR's detector to 960 on
    /// the long side, MTCNN's pyramid from 12/20 of it), so a larger frame only costs memory
    /// and time — a 10000² picture would take gigabytes in the face pyramid and OCR.
    public static let maxSide = 1920

    /// An rgb8 frame as the vision models' picture type, scaled down to `maxSide` when larger.
    /// Boxes found on it are kept as fractions of the frame (`Region`), so scaling changes none.
    static func picture(_ frame: VideoFrame) throws -> RGBImage {
        guard frame.layout == .rgb8 else {
            throw VisionModalityError.frameLayout("\(frame.layout)")
        }
        var f = frame
        let longer = max(frame.width, frame.height)
        if longer > maxSide {
            let scale = Double(maxSide) / Double(longer)
            let size = FrameSize(width: max(1, Int((Double(frame.width) * scale).rounded())),
                                 height: max(1, Int((Double(frame.height) * scale).rounded())))
            guard let scaled = FrameResizer().resize(frame, to: size, layout: .rgb8) else {
                throw VisionModalityError.unscalable(width: frame.width, height: frame.height)
            }
            f = scaled
        }
        return try RGBImage(width: f.width, height: f.height, pixels: f.rgb)
    }
}

/// Why a picture modality could not run.
public enum VisionModalityError: Error, CustomStringConvertible {
    /// The pipeline handed over frames in a layout the modality did not ask for (a bug).
    case frameLayout(String)
    /// A frame too large to analyse could not be scaled down.
    case unscalable(width: Int, height: Int)

    public var description: String {
        switch self {
        case let .frameLayout(layout): "a picture modality was given \(layout) frames instead of rgb8; please report this as a bug"
        case let .unscalable(w, h): "a \(w)x\(h) picture could not be scaled down to \(FrameEncoder.maxSide) pixels on its longer side for analysis"
        }
    }
}

/// The prepared form of a picture modality: its shared model, loaded; a new analyser per stream.
public struct PreparedFrameModel: PreparedEncoder {
    public let modelsLoaded: [String]
    let name: String
    let input: EncoderInput
    let makeAnalyser: (@Sendable () -> any FrameAnalyser)?
    /// Whether a frame showing what the last analysed one showed gets its evidence again
    /// (`StillFrames`); off for a modality that re-reads changed parts itself.
    let reusesStillFrames: Bool

    /// A modality called `name` reading `input`, with `model` loaded (nil: turned off by `[models]`).
    init(name: String, input: EncoderInput, model: String?, reusesStillFrames: Bool,
         makeAnalyser: (@Sendable () -> any FrameAnalyser)?)
    {
        self.name = name
        self.input = input
        self.modelsLoaded = model.map { [$0] } ?? []
        self.reusesStillFrames = reusesStillFrames
        self.makeAnalyser = makeAnalyser
    }

    public func makeEncoder(streamId: String) throws -> (any WindowEncoder)? {
        guard let makeAnalyser else { return nil }
        return FrameEncoder(name: name, input: input, analyser: makeAnalyser(), still: makeStillFrames())
    }

    /// A fresh `StillFrames` for one stream's (or one video's) frames, when the modality reuses them.
    func makeStillFrames() -> StillFrames? { reusesStillFrames ? StillFrames() : nil }
}

extension Region {
    /// A model's pixel box of a `width` × `height` picture, as fractions of the frame.
    init(_ box: Box, width: Int, height: Int) {
        self.init(pixels: Double(box.x0), Double(box.y0), Double(box.x1), Double(box.y1), width: width, height: height)
    }

    /// Whether the two boxes share some area.
    func intersects(_ other: Region) -> Bool {
        x0 < other.x1 && other.x0 < x1 && y0 < other.y1 && other.y0 < y1
    }

    /// The bounding box of both.
    func union(_ other: Region) -> Region {
        Region(x0: min(x0, other.x0), y0: min(y0, other.y0), x1: max(x1, other.x1), y1: max(y1, other.y1))
    }

    /// `regions` with every two that overlap replaced by their bounding box, until none
    /// overlap: areas to search one by one without searching any place twice.
    static func joined(_ regions: [Region]) -> [Region] {
        var areas = regions.filter { $0.area > 0 }
        var joined = true
        while joined {
            joined = false
            outer: for i in areas.indices {
                for j in areas.indices where j > i && areas[i].intersects(areas[j]) {
                    areas[i] = areas[i].union(areas[j])
                    areas.remove(at: j)
                    joined = true
                    break outer
                }
            }
        }
        return areas
    }
}

/// Things found in a picture (people, faces): one piece of evidence each, with the modality's
/// word as searchable text, the detector's score, the box, and as value how many were found
/// in that frame, so "how many" is one row away.
struct DetectionAnalyser: FrameAnalyser {
    let modality: Modality
    let word: String
    let detect: @Sendable (RGBImage) throws -> [(box: Box, score: Float)]

    func analyse(_ image: RGBImage, span: FrameSpan) throws -> [Evidence] {
        let found = try detect(image)
        return found.map {
            Evidence(modality: modality, startMs: span.startMs, endMs: span.endMs, text: word,
                     confidence: Double($0.score), value: Double(found.count),
                     region: Region($0.box, width: image.width, height: image.height))
        }
    }
}

extension EncoderDescriptor {
    /// A picture modality called `name`, reading frames at `fps` at most, whose model the
    /// `[models]` key `setting` names: `load` reads it from its directory (which must hold
    /// `requiredFiles`) once per daemon, and `analyser` makes each stream's analyser over the
    /// shared model. `reusesStillFrames`: see `StillFrames`.
    static func picture<Model>(name: String, summary: String, fps: Double, enabledByDefault: Bool = true,
                               reusesStillFrames: Bool = true, setting: ModelSetting, requiredFiles: [String],
                               load: @escaping @Sendable (URL) throws -> Model,
                               analyser: @escaping @Sendable (SharedModel<Model>) -> any FrameAnalyser) -> EncoderDescriptor
    {
        let input = EncoderInput(video: FrameRequest(maxFps: fps))
        return EncoderDescriptor(name: name, summary: summary, input: input, enabledByDefault: enabledByDefault,
                                 modelSettings: [setting]) { setup in
            guard let (model, loaded) = try ModelLoading.load(setting.key, setup: setup, requiredFiles: requiredFiles, load) else {
                return PreparedFrameModel(name: name, input: input, model: nil, reusesStillFrames: reusesStillFrames, makeAnalyser: nil)
            }
            let shared = SharedModel(loaded)
            return PreparedFrameModel(name: name, input: input, model: model, reusesStillFrames: reusesStillFrames,
                                      makeAnalyser: { analyser(shared) })
        }
    }
}
