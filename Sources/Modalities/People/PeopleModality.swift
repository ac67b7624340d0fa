// The `people` modality: SSDLite MobileNetV2 person detection on sampled frames. Each person
// is one piece of evidence with the searchable text "person", the detector's score, its box,
// and as value the number of people in that frame, so "how many people" is one row away.
import Foundation
import ImageOps
import PersonDetector
import SightlineCore

/// People in each analysed frame.
struct PeopleAnalyser: FrameAnalyser {
    let detector: SharedModel<PersonDetector>

    func analyse(_ image: RGBImage, span: FrameSpan) throws -> [Evidence] {
        let people = try detector.run { try $0.detect(image) }
        return people.map {
            Evidence(modality: .person, startMs: span.startMs, endMs: span.endMs, text: "person",
                     confidence: Double($0.score), value: Double(people.count),
                     region: Region($0.box, width: image.width, height: image.height))
        }
    }
}

extension EncoderDescriptor {
    /// At most this many frames a second are searched for people unless the stream says otherwise.
    public static let peopleFps = 1.0

    /// `people`: persons in the picture, with boxes (SSDLite MobileNetV2).
    public static let people = EncoderDescriptor(
        name: "people", summary: "people in the picture, with boxes and a count (SSDLite MobileNetV2)",
        input: EncoderInput(video: FrameRequest(maxFps: peopleFps)), enabledByDefault: true,
        modelSettings: [
            ModelSetting(key: "people", kind: .choice(["ssdlite-person", "none"]), defaultValue: .name("ssdlite-person"),
                         help: "Person detector: \"ssdlite-person\" or \"none\"."),
        ],
        prepare: { setup in
            let input = EncoderInput(video: FrameRequest(maxFps: peopleFps))
            guard let (name, model) = try ModelLoading.load("people", setup: setup, requiredFiles: ["frozen_inference_graph.pb"], { dir in
                try PersonDetector(modelFile: dir.appendingPathComponent("frozen_inference_graph.pb").path)
            }) else { return PreparedFrameModel(name: "people", input: input, model: nil, makeAnalyser: nil) }
            let shared = SharedModel(model)
            return PreparedFrameModel(name: "people", input: input, model: name, makeAnalyser: { PeopleAnalyser(detector: shared) })
        })
}
