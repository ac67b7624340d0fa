// The `labels` modality: MobileNetV2 (ImageNet-1k) on sampled frames. The top labels above a
// probability floor become searchable evidence ("sports car", "sea lion"), and every analysed
// frame gets one `image` piece of evidence holding its 1280-dimensional embedding, for
// similarity search over pictures.
import Foundation
import ImageLabels
import ImageOps
import SightlineCore

/// Labels and an embedding of each analysed frame.
struct LabelsAnalyser: FrameAnalyser {
    /// Labels kept per frame, best first.
    static let topK = 5
    /// A label below this probability is noise on real camera frames (ImageNet's 1000 classes
    /// spread most of the mass over look-alikes), so it is not stored.
    static let minProbability: Float = 0.1
    /// The embedding's model name in the store.
    static let embeddingModel = "mobilenet-v2"

    let classifier: SharedModel<ImageClassifier>

    func analyse(_ image: RGBImage, span: FrameSpan) throws -> [Evidence] {
        let result = try classifier.run { try $0.analyse(image, topK: Self.topK) }
        var out = result.labels.filter { $0.probability >= Self.minProbability }.map {
            Evidence(modality: .label, startMs: span.startMs, endMs: span.endMs, text: $0.name, confidence: Double($0.probability))
        }
        out.append(Evidence(modality: .image, startMs: span.startMs, endMs: span.endMs,
                            embedding: Embedding(model: Self.embeddingModel, vector: result.embedding)))
        return out
    }
}

extension EncoderDescriptor {
    /// At most this many frames a second are labelled unless the stream says otherwise.
    public static let labelsFps = 0.5

    /// `labels`: what the picture shows, as ImageNet labels, and an image embedding (MobileNetV2).
    public static let labels = EncoderDescriptor(
        name: "labels", summary: "what the picture shows, as ImageNet labels, and an image embedding (MobileNetV2)",
        input: EncoderInput(video: FrameRequest(maxFps: labelsFps)), enabledByDefault: true,
        modelSettings: [
            ModelSetting(key: "labels", kind: .choice(["mobilenet-v2", "none"]), defaultValue: .name("mobilenet-v2"),
                         help: "Image classifier for scene and object labels: \"mobilenet-v2\" or \"none\"."),
        ],
        prepare: { setup in
            let input = EncoderInput(video: FrameRequest(maxFps: labelsFps))
            guard let (name, model) = try ModelLoading.load("labels", setup: setup, requiredFiles: [ImageClassifier.weightsFile], { dir in
                try ImageClassifier(directory: dir.path)
            }) else { return PreparedFrameModel(name: "labels", input: input, model: nil, makeAnalyser: nil) }
            let shared = SharedModel(model)
            return PreparedFrameModel(name: "labels", input: input, model: name, makeAnalyser: { LabelsAnalyser(classifier: shared) })
        })
}
