// The `clip` modality: a CLIP image embedding of each sampled frame, stored as `image`
// evidence under the embedding model name "clip", so that a query's CLIP text embedding
// (CLIPModel.embed(text:), the same model) can be compared with the frames it describes.
// Optional: no package carries CLIP's weights, so `[models] clip` is "none" until the user
// points it at a Hugging Face CLIP directory (e.g. openai/clip-vit-base-patch32), and a stream
// turns it on with `clip = true` in its `[modalities]`.
import CLIP
import Foundation
import ImageOps
import SightlineCore

/// The CLIP embedding of each analysed frame.
struct CLIPAnalyser: FrameAnalyser {
    /// The embedding's model name in the store: vectors compare only within one model, and a
    /// query is embedded by the text tower of the same checkpoint.
    static let embeddingModel = "clip"

    let model: SharedModel<CLIPModel>

    func analyse(_ image: RGBImage, span: FrameSpan) throws -> [Evidence] {
        let vector = try model.run { try $0.embed(image: image) }
        return [Evidence(modality: .image, startMs: span.startMs, endMs: span.endMs,
                         embedding: Embedding(model: Self.embeddingModel, vector: vector))]
    }
}

extension EncoderDescriptor {
    /// At most this many frames a second are embedded unless the stream says otherwise.
    public static let clipFps = 0.5

    /// `clip`: open-vocabulary image embeddings (CLIP ViT-B/32, supplied by the user).
    public static let clip = picture(
        name: "clip", summary: "open-vocabulary image embeddings of frames for text queries (CLIP, a model directory you supply)",
        fps: clipFps, enabledByDefault: false,
        setting: ModelSetting(key: "clip", kind: .choiceOrDirectory(["none"]), defaultValue: .name("none"),
                              help: "CLIP checkpoint directory in the Hugging Face layout (config.json, model.safetensors, tokenizer.json), or \"none\"."),
        requiredFiles: [CLIPConfig.configFile, CLIPTokenizer.fileName],
        load: { try CLIPModel(directory: $0) },
        analyser: { CLIPAnalyser(model: $0) })
}
