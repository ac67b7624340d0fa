// The `faces` modality: MTCNN face detection on sampled frames. Each face is one piece of
// evidence with the searchable text "face", O-Net's probability, its box (clipped to the
// frame), and as value the number of faces in that frame. Faces are found, not recognised:
// nothing identifies whose face it is.
//
// Where the stream also runs the person detector, faces are searched only where it saw
// people: every face belongs to a person, and MTCNN's image pyramid over a whole 720p frame
// costs about four times SSDLite's 300² pass, mostly over walls and roads. Each person box, widened
// by `PeopleSightings.margin` on every side (SSDLite boxes can cut off a head), is cropped and
// searched; areas that overlap are searched as one; when the areas together cover more than
// `wholeFrameShare` of the frame, the whole frame is searched as before. A frame without
// people has no faces. The person detector runs first in a window (registry order) and leaves
// its boxes on the stream's `PeopleSightings`; a frame it did not look at (another rate, a
// gate, shedding, a still frame given its evidence again) is searched whole. Without the
// people modality every frame is searched whole.
import FaceDetector
import Foundation
import ImageOps
import SightlineCore
import Synchronization

/// The person boxes one stream's person detector found in its latest analysed frames.
final class PeopleSightings: Sendable {
    /// Frames remembered: a window's frames at any rate the two modalities share.
    static let kept = 16
    /// A person box is widened by this fraction of its width and height on each side.
    static let margin = 0.2
    private let frames = Mutex<[(ptsMs: Int64, boxes: [Region])]>([])

    func record(ptsMs: Int64, boxes: [Region]) {
        frames.withLock { f in
            f.removeAll { $0.ptsMs == ptsMs }
            f.append((ptsMs, boxes))
            if f.count > Self.kept { f.removeFirst(f.count - Self.kept) }
        }
    }

    /// The person boxes of the frame at `ptsMs`; nil when the person detector did not look at it.
    func boxes(atMs ptsMs: Int64) -> [Region]? {
        frames.withLock { f in f.last { $0.ptsMs == ptsMs }?.boxes }
    }
}

/// Passes the person detector's evidence through and leaves its boxes on `sightings`.
struct RecordingPeople: FrameAnalyser {
    let inner: any FrameAnalyser
    let sightings: PeopleSightings

    func analyse(_ image: RGBImage, span: FrameSpan) throws -> [Evidence] {
        let found = try inner.analyse(image, span: span)
        sightings.record(ptsMs: span.startMs, boxes: found.filter { $0.modality == .person }.compactMap(\.region))
        return found
    }
}

/// Faces in a frame: inside the person boxes when `sightings` knows the frame, else everywhere.
struct FacesAnalyser: FrameAnalyser {
    /// Above this share of the frame, searching the areas costs about what the whole frame does.
    static let wholeFrameShare = 0.5
    /// Faces found in two overlapping areas are one face when their boxes overlap this much.
    static let sameFaceIoU: Float = 0.5

    let detector: SharedModel<FaceDetector>
    let sightings: PeopleSightings?

    func analyse(_ image: RGBImage, span: FrameSpan) throws -> [Evidence] {
        let faces: [(box: Box, score: Float)]
        if let people = sightings?.boxes(atMs: span.startMs) {
            let areas = Self.searchAreas(people)
            if areas.reduce(0, { $0 + $1.area }) > Self.wholeFrameShare {
                faces = try detect(image)
            } else {
                var found: [(box: Box, score: Float)] = []
                for area in areas {
                    let crop = try image.cropped(to: area)
                    let dx = Float(crop.region.x0 * Double(image.width)), dy = Float(crop.region.y0 * Double(image.height))
                    found += try detect(crop.image).map {
                        (Box(x0: $0.box.x0 + dx, y0: $0.box.y0 + dy, x1: $0.box.x1 + dx, y1: $0.box.y1 + dy), $0.score)
                    }
                }
                faces = Self.distinct(found)
            }
        } else {
            faces = try detect(image)
        }
        return faces.map {
            Evidence(modality: .face, startMs: span.startMs, endMs: span.endMs, text: "face",
                     confidence: Double($0.score), value: Double(faces.count),
                     region: Region($0.box, width: image.width, height: image.height))
        }
    }

    private func detect(_ image: RGBImage) throws -> [(box: Box, score: Float)] {
        try detector.run { detector throws in try detector.detect(image) }.map { ($0.box, $0.score) }
    }

    /// The person boxes widened by `PeopleSightings.margin`, clipped to the frame, with
    /// overlapping areas joined into their bounding box until none overlap.
    static func searchAreas(_ people: [Region]) -> [Region] {
        Region.joined(people.map { p -> Region in
            let mx = (p.x1 - p.x0) * PeopleSightings.margin, my = (p.y1 - p.y0) * PeopleSightings.margin
            return Region(x0: max(0, p.x0 - mx), y0: max(0, p.y0 - my), x1: min(1, p.x1 + mx), y1: min(1, p.y1 + my))
        })
    }

    /// Best first, without a face found again in a neighbouring area.
    static func distinct(_ faces: [(box: Box, score: Float)]) -> [(box: Box, score: Float)] {
        let order = nonMaximumSuppression(boxes: faces.map(\.box), scores: faces.map(\.score), iouThreshold: sameFaceIoU)
        return order.map { faces[$0] }
    }
}

extension FrameEncoder {
    /// `encoders` (one stream's) with its face detector searching only where its person
    /// detector saw people, when the stream runs both; otherwise unchanged.
    public static func facesWithinPeople(_ encoders: [any WindowEncoder]) -> [any WindowEncoder] {
        guard let p = encoders.firstIndex(where: { ($0 as? FrameEncoder)?.name == "people" }),
              let f = encoders.firstIndex(where: { ($0 as? FrameEncoder)?.analyser is FacesAnalyser }), p < f,
              let people = encoders[p] as? FrameEncoder, let faces = encoders[f] as? FrameEncoder,
              let analyser = faces.analyser as? FacesAnalyser
        else { return encoders }
        let sightings = PeopleSightings()
        var out = encoders
        var recording = people, within = faces
        recording.analyser = RecordingPeople(inner: people.analyser, sightings: sightings)
        within.analyser = FacesAnalyser(detector: analyser.detector, sightings: sightings)
        out[p] = recording
        out[f] = within
        return out
    }
}

extension EncoderDescriptor {
    /// At most this many frames a second are searched for faces unless the stream says otherwise.
    public static let facesFps = 1.0

    /// `faces`: faces in the picture, with boxes (MTCNN).
    public static let faces = picture(
        name: "faces", summary: "faces in the picture, with boxes and a count (MTCNN; no identities)", fps: facesFps,
        setting: ModelSetting(key: "faces", kind: .choice(["mtcnn", "none"]), defaultValue: .name("mtcnn"),
                              help: "Face detector: \"mtcnn\" or \"none\"."),
        requiredFiles: ["pnet.pt", "rnet.pt", "onet.pt"],
        load: { try FaceDetector(directory: $0) },
        analyser: { FacesAnalyser(detector: $0, sightings: nil) })
}
