// The `faces` modality: MTCNN face detection on sampled frames. Each face is one piece of
// evidence with the searchable text "face", O-Net's probability, its box (clipped to the
// frame), and as value the number of faces in that frame. Faces are found, not recognised:
// nothing identifies whose face it is.
import FaceDetector
import Foundation
import SightlineCore

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
        analyser: { detector in
            DetectionAnalyser(modality: .face, word: "face") { image in
                try detector.run { detector throws in try detector.detect(image) }.map { ($0.box, $0.score) }
            }
        })
}
