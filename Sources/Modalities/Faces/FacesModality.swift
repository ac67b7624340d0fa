// The `faces` modality: MTCNN face detection on sampled frames. Each face is one piece of
// evidence with the searchable text "face", O-Net's probability, its box (clipped to the
// frame), and as value the number of faces in that frame. Faces are found, not recognised:
// nothing identifies whose face it is.
import Foundation
import FaceDetector
import ImageOps
import SightlineCore

/// Faces in each analysed frame.
struct FacesAnalyser: FrameAnalyser {
    let detector: SharedModel<FaceDetector>

    func analyse(_ image: RGBImage, span: FrameSpan) throws -> [Evidence] {
        let faces = try detector.run { detector throws in try detector.detect(image) }
        return faces.map {
            Evidence(modality: .face, startMs: span.startMs, endMs: span.endMs, text: "face",
                     confidence: Double($0.score), value: Double(faces.count),
                     region: Region($0.box, width: image.width, height: image.height))
        }
    }
}

extension EncoderDescriptor {
    /// At most this many frames a second are searched for faces unless the stream says otherwise.
    public static let facesFps = 1.0

    /// `faces`: faces in the picture, with boxes (MTCNN).
    public static let faces = EncoderDescriptor(
        name: "faces", summary: "faces in the picture, with boxes and a count (MTCNN; no identities)",
        input: EncoderInput(video: FrameRequest(maxFps: facesFps)), enabledByDefault: true,
        modelSettings: [
            ModelSetting(key: "faces", kind: .choice(["mtcnn", "none"]), defaultValue: .name("mtcnn"),
                         help: "Face detector: \"mtcnn\" or \"none\"."),
        ],
        prepare: { setup in
            let input = EncoderInput(video: FrameRequest(maxFps: facesFps))
            guard let (name, model) = try ModelLoading.load("faces", setup: setup, requiredFiles: ["pnet.pt", "rnet.pt", "onet.pt"], { dir in
                try FaceDetector(directory: dir)
            }) else { return PreparedFrameModel(name: "faces", input: input, model: nil, makeAnalyser: nil) }
            let shared = SharedModel(model)
            return PreparedFrameModel(name: "faces", input: input, model: name, makeAnalyser: { FacesAnalyser(detector: shared) })
        })
}
