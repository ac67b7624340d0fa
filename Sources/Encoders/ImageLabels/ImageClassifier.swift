// Scene and object labels and an image embedding for a picture: torchvision's ImageNet
// evaluation transform (ImageNetPreprocessing), then MobileNetV2 — one forward pass gives the
// 1000 ImageNet-1k class probabilities (softmax of the logits) and the 1280-d pooled features.
// Pure compute: no store, no server. The model directory is the one Scripts/fetch-models
// fills as `mobilenet-v2` (torchvision's mobilenet_v2-b0353104.pth, legacy torch pickle).
import ImageOps
import Kernels
import ModelIO

/// One ImageNet class with its probability.
public struct Label: Sendable, Equatable {
    /// Class index, 0..<1000, in torchvision's order.
    public let index: Int
    /// torchvision's class name ("tabby", "water bottle").
    public let name: String
    public let probability: Float
}

/// What one forward pass says about a picture.
public struct ImageAnalysis: Sendable {
    /// The `topK` most probable classes, most probable first (ties by index).
    public let labels: [Label]
    /// The 1280-d globally pooled features (after the last ReLU6), before the classifier.
    public let embedding: [Float]
    /// The classifier's 1000 logits.
    public let logits: [Float]
}

public final class ImageClassifier: Sendable {
    public static let weightsFile = "mobilenet_v2-b0353104.pth"

    public let network: MobileNetV2

    /// Loads `directory/mobilenet_v2-b0353104.pth`.
    public init(directory: String) throws(ModelLoadError) {
        let file = try TorchCheckpointFile(path: directory + "/" + Self.weightsFile)
        network = try MobileNetV2(file: file)
    }

    public init(network: MobileNetV2) { self.network = network }

    /// Labels (and the embedding) of a picture.
    public func classify(_ image: RGBImage, topK: Int = 5, pool: ThreadPool = .shared) throws -> [Label] {
        try analyse(image, topK: topK, pool: pool).labels
    }

    /// Labels and embedding of a picture from one forward pass.
    public func analyse(_ image: RGBImage, topK: Int = 5, pool: ThreadPool = .shared) throws -> ImageAnalysis {
        try analyse([image], topK: topK, pool: pool)[0]
    }

    /// Several pictures (e.g. the crops of one frame), each transformed on its own, run as
    /// one batch (the classifier is one GEMM over the batch).
    public func analyse(_ images: [RGBImage], topK: Int = 5, pool: ThreadPool = .shared) throws -> [ImageAnalysis] {
        guard !images.isEmpty else { return [] }
        let pixels = MobileNetV2.inputChannels * MobileNetV2.inputSize * MobileNetV2.inputSize
        var input = [Float](repeating: 0, count: images.count * pixels) // (n, 3, 224, 224)
        for (n, image) in images.enumerated() {
            let crop = try ImageNetPreprocessing.resizedCrop(image, pool: pool)
            input.withUnsafeMutableBufferPointer { ImageNetPreprocessing.normalize(crop, into: $0.baseAddress! + n * pixels) }
        }
        return try analyse(normalized: input, count: images.count, topK: topK, pool: pool)
    }

    /// The network on already transformed input: `count` × (3, 224, 224) floats.
    public func analyse(normalized input: [Float], count: Int, topK: Int = 5, pool: ThreadPool = .shared) throws -> [ImageAnalysis] {
        let pixels = MobileNetV2.inputChannels * MobileNetV2.inputSize * MobileNetV2.inputSize
        precondition(count >= 0 && input.count == count * pixels, "count × (3, 224, 224) floats")
        var logits = [Float](repeating: 0, count: count * MobileNetV2.classCount) // (n, 1000)
        var embeddings = [Float](repeating: 0, count: count * MobileNetV2.embeddingSize) // (n, 1280)
        try input.withUnsafeBufferPointer { x in
            try logits.withUnsafeMutableBufferPointer { l in
                try embeddings.withUnsafeMutableBufferPointer { e in
                    try network.forward(x.baseAddress!, count: count, logits: l.baseAddress!, embeddings: e.baseAddress!, pool: pool)
                }
            }
        }
        return (0..<count).map { n in
            let z = Array(logits[(n * MobileNetV2.classCount)..<((n + 1) * MobileNetV2.classCount)])
            return ImageAnalysis(labels: Self.top(Self.softmax(z), k: topK),
                                 embedding: Array(embeddings[(n * MobileNetV2.embeddingSize)..<((n + 1) * MobileNetV2.embeddingSize)]),
                                 logits: z)
        }
    }

    static func softmax(_ z: [Float]) -> [Float] {
        var p = z
        p.withUnsafeMutableBufferPointer { Kernels.softmax($0.baseAddress!, rows: 1, cols: $0.count) }
        return p
    }

    static func top(_ p: [Float], k: Int) -> [Label] {
        let order = p.indices.sorted { p[$0] > p[$1] || (p[$0] == p[$1] && $0 < $1) }
        return order.prefix(max(0, k)).map { Label(index: $0, name: ImageNetCategories.names[$0], probability: p[$0]) }
    }
}
