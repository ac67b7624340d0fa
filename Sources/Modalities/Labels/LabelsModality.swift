// The `labels` modality: MobileNetV2 (ImageNet-1k) on sampled frames. The top labels above a
// probability floor become searchable evidence ("sports car", "sea lion"), and every analysed
// frame gets one `image` piece of evidence holding its 1280-dimensional embedding, for
// similarity search over pictures. A camera's whole frame is mostly the same scene, so the
// large regions that move against the scene's background (the motion modality's background
// model, kept here for the labelled frames) are also cropped and labelled, in the same batch:
// their labels carry the region, so a dog crossing a yard is "dog" where it walks.
import Foundation
import ImageLabels
import ImageOps
import MediaIO
import SightlineCore
import Synchronization

/// Labels and an embedding of each analysed frame, and labels of its large moving regions.
final class LabelsAnalyser: FrameAnalyser {
    /// Labels kept per frame, best first.
    static let topK = 5
    /// A label below this probability is noise on real camera frames (ImageNet's 1000 classes
    /// spread most of the mass over look-alikes), so it is not stored.
    static let minProbability: Float = 0.1
    /// The embedding's model name in the store.
    static let embeddingModel = "mobilenet-v2"

    /// A moving region is labelled on its own when it covers at least this fraction of the
    /// frame (smaller ones are too few pixels for a 224² classifier) and at most `maxRegionArea`
    /// (larger ones are the whole frame again).
    static let minRegionArea = 0.05
    static let maxRegionArea = 0.6
    /// At most this many regions per frame, largest first: bounds the batch.
    static let maxRegions = 2

    let classifier: SharedModel<ImageClassifier>
    /// The background of the frames this analyser saw (one stream's, in order).
    private let background = Mutex(MotionBackground())

    init(classifier: SharedModel<ImageClassifier>) { self.classifier = classifier }

    func analyse(_ image: RGBImage, span: FrameSpan) throws -> [Evidence] {
        let frame = VideoFrame(ptsMs: span.startMs, width: image.width, height: image.height, layout: .rgb8, rgb: image.pixels)
        let moving = background.withLock { $0.changed(frame) }.map(MotionEncoder.regions) ?? []
        let regions = moving.map(\.0).filter { (Self.minRegionArea...Self.maxRegionArea).contains($0.area) }
            .sorted { $0.area > $1.area }.prefix(Self.maxRegions)
        let crops = try regions.map { try image.cropped(to: $0) }
        let results = try classifier.run { try $0.analyse([image] + crops.map(\.image), topK: Self.topK) }
        func labels(_ r: ImageAnalysis, _ region: Region?) -> [Evidence] {
            r.labels.filter { $0.probability >= Self.minProbability }.map {
                Evidence(modality: .label, startMs: span.startMs, endMs: span.endMs, text: $0.name,
                         confidence: Double($0.probability), region: region)
            }
        }
        var out = labels(results[0], nil)
        out.append(Evidence(modality: .image, startMs: span.startMs, endMs: span.endMs,
                            embedding: Embedding(model: Self.embeddingModel, vector: results[0].embedding)))
        for (crop, result) in zip(crops, results.dropFirst()) { out += labels(result, crop.region) }
        return out
    }
}

extension RGBImage {
    /// The pixels inside `region` (fractions of the picture, rounded outwards to whole pixels),
    /// and the region those pixels cover.
    func cropped(to region: Region) throws -> (image: RGBImage, region: Region) {
        let x0 = max(0, min(width - 1, Int((region.x0 * Double(width)).rounded(.down))))
        let y0 = max(0, min(height - 1, Int((region.y0 * Double(height)).rounded(.down))))
        let x1 = max(x0 + 1, min(width, Int((region.x1 * Double(width)).rounded(.up))))
        let y1 = max(y0 + 1, min(height, Int((region.y1 * Double(height)).rounded(.up))))
        var pixels: [UInt8] = []
        pixels.reserveCapacity((x1 - x0) * (y1 - y0) * 3)
        for y in y0..<y1 { pixels += self.pixels[((y * width + x0) * 3)..<((y * width + x1) * 3)] }
        return (try RGBImage(width: x1 - x0, height: y1 - y0, pixels: pixels),
                Region(pixels: Double(x0), Double(y0), Double(x1), Double(y1), width: width, height: height))
    }
}

extension EncoderDescriptor {
    /// At most this many frames a second are labelled unless the stream says otherwise.
    public static let labelsFps = 0.5

    /// `labels`: what the picture shows, as ImageNet labels, and an image embedding (MobileNetV2).
    public static let labels = picture(
        name: "labels", summary: "what the picture shows, as ImageNet labels, and an image embedding (MobileNetV2)", fps: labelsFps,
        setting: ModelSetting(key: "labels", kind: .choice(["mobilenet-v2", "none"]), defaultValue: .name("mobilenet-v2"),
                              help: "Image classifier for scene and object labels: \"mobilenet-v2\" or \"none\"."),
        requiredFiles: [ImageClassifier.weightsFile],
        load: { try ImageClassifier(directory: $0.path) },
        analyser: { LabelsAnalyser(classifier: $0) })
}
