// The `people` modality: SSDLite MobileNetV2 person detection on sampled frames. Each person
// is one piece of evidence with the searchable text "person", the detector's score, its box,
// and as value the number of people in that frame.
import Foundation
import PersonDetector
import SightlineCore

extension EncoderDescriptor {
    /// At most this many frames a second are searched for people unless the stream says otherwise.
    public static let peopleFps = 1.0

    /// `people`: persons in the picture, with boxes (SSDLite MobileNetV2).
    public static let people = picture(
        name: "people", summary: "people in the picture, with boxes and a count (SSDLite MobileNetV2)", fps: peopleFps,
        setting: ModelSetting(key: "people", kind: .choice(["ssdlite-person", "none"]), defaultValue: .name("ssdlite-person"),
                              help: "Person detector: \"ssdlite-person\" or \"none\"."),
        requiredFiles: ["frozen_inference_graph.pb"],
        load: { try PersonDetector(modelFile: $0.appendingPathComponent("frozen_inference_graph.pb").path) },
        analyser: { detector in
            DetectionAnalyser(modality: .person, word: "person") { image in
                try detector.run { try $0.detect(image) }.map { ($0.box, $0.score) }
            }
        })
}
