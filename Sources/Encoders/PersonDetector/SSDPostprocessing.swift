// SSD's decoding, done natively as the TensorFlow Object Detection API's exported graph does
// it after the network (its Postprocessor while-loops):
//
//   anchors     MultipleGridAnchorGenerator as `ssd_anchor_generator` builds it: 6 feature
//               maps (19, 10, 5, 3, 2, 1 cells a side for a 300 × 300 input), scales evenly
//               spaced from minScale 0.2 to maxScale 0.95; the lowest layer has 3 boxes per
//               cell — (0.1, 1:1), (0.2, 2:1), (0.2, 1:2) — the others 6: the layer's scale at
//               aspect ratios 1, 2, 1/2, 3, 1/3, then √(scale·next scale) at 1:1 (next scale of
//               the last layer is 1). Cell centres at (i + 0.5)/size; box height
//               scale/√ratio, width scale·√ratio, in normalised image units. 1917 anchors,
//               ordered (feature map, row, column, box). The values were recovered from the
//               graph's anchor constants and are checked against them (PersonDetectorTests).
//   box coder   faster_rcnn_box_coder with scale factors (10, 10, 5, 5): a prediction
//               (ty, tx, th, tw) gives centre = t/10 · anchor size + anchor centre and
//               size = exp(t/5) · anchor size.
//   scores      sigmoid of each class logit / logit scale (1); column 0 is background and
//               is dropped.
//   NMS         per class: scores above the graph's score threshold, greedy suppression at
//               its IoU threshold (IoU > threshold suppresses), at most maxPerClass boxes;
//               then boxes are clipped to the image [0, 1] and empty ones dropped.
// Everything here is Float32 in the order TensorFlow evaluates it, so boxes agree to the last
// few ulps.
import Foundation
import ModelIO
import ImageOps

/// The anchor layout of an SSD with `ssd_anchor_generator` (see the file comment).
struct SSDAnchorLayout: Equatable, Sendable {
    var featureMapSizes: [Int] = [19, 10, 5, 3, 2, 1]
    var minScale: Double = 0.2
    var maxScale: Double = 0.95
    var aspectRatios: [Double] = [1.0, 2.0, 0.5, 3.0, 0.3333]
    var interpolatedScaleAspectRatio: Double = 1.0
    /// The lowest layer's 3 boxes: (0.1, 1:1), (scale, 2:1), (scale, 1:2).
    var reduceBoxesInLowestLayer = true

    /// (scale, aspect ratio) per box of each layer, in the generator's order.
    var boxSpecs: [[(scale: Double, aspectRatio: Double)]] {
        let n = featureMapSizes.count
        let scales = (0..<n).map { minScale + (maxScale - minScale) * Double($0) / Double(n - 1) } + [1.0]
        return (0..<n).map { layer in
            let scale = scales[layer], next = scales[layer + 1]
            if layer == 0 && reduceBoxesInLowestLayer { return [(0.1, 1.0), (scale, 2.0), (scale, 0.5)] }
            var specs = aspectRatios.map { (scale: scale, aspectRatio: $0) }
            if interpolatedScaleAspectRatio > 0 { specs.append(((scale * next).squareRoot(), interpolatedScaleAspectRatio)) }
            return specs
        }
    }

    var boxesPerCell: [Int] { boxSpecs.map(\.count) }
    var anchorCount: Int { zip(featureMapSizes, boxesPerCell).reduce(0) { $0 + $1.0 * $1.0 * $1.1 } }

    /// (anchorCount, 4) as [ymin, xmin, ymax, xmax], normalised to the image.
    func anchors() -> [Float] {
        var out: [Float] = []
        out.reserveCapacity(anchorCount * 4)
        for (size, specs) in zip(featureMapSizes, boxSpecs) {
            // tile_anchors: float32 heights = scale / √ratio, widths = scale · √ratio (base size 1).
            let heights = specs.map { Float($0.scale) / Float($0.aspectRatio).squareRoot() }
            let widths = specs.map { Float($0.scale) * Float($0.aspectRatio).squareRoot() }
            let stride = 1 / Float(size), offset = 0.5 * stride
            for y in 0..<size {
                let cy = Float(y) * stride + offset
                for x in 0..<size {
                    let cx = Float(x) * stride + offset
                    for b in specs.indices {
                        out += [cy - 0.5 * heights[b], cx - 0.5 * widths[b], cy + 0.5 * heights[b], cx + 0.5 * widths[b]]
                    }
                }
            }
        }
        return out
    }
}

/// The graph's post-processing constants (read from it at load; these are the values the
/// shipped graph holds).
struct SSDPostprocessing: Equatable, Sendable {
    /// Logits are divided by this before the sigmoid (the score converter's logit_scale).
    var logitScale: Float = 1
    /// faster_rcnn_box_coder scale factors (y, x, height, width).
    var boxCoderScales: (y: Float, x: Float, h: Float, w: Float) = (10, 10, 5, 5)
    /// Scores at or below this never enter NMS.
    var scoreThreshold: Float = 1e-8
    /// A box overlapping a kept one by more than this is suppressed.
    var iouThreshold: Float = 0.6
    var maxPerClass = 100
    var maxTotal = 100

    static func == (a: Self, b: Self) -> Bool {
        a.logitScale == b.logitScale && a.boxCoderScales == b.boxCoderScales && a.scoreThreshold == b.scoreThreshold && a.iouThreshold == b.iouThreshold
            && a.maxPerClass == b.maxPerClass && a.maxTotal == b.maxTotal
    }

    /// Decodes (anchors, 4) predictions against `anchors` into [ymin, xmin, ymax, xmax] boxes.
    func decode(_ encodings: UnsafePointer<Float>, anchors: [Float], into boxes: UnsafeMutablePointer<Float>) {
        for i in 0..<(anchors.count / 4) {
            let a = i * 4
            let ha = anchors[a + 2] - anchors[a], wa = anchors[a + 3] - anchors[a + 1]
            let yca = anchors[a] + 0.5 * ha, xca = anchors[a + 1] + 0.5 * wa
            let ty = encodings[a] / boxCoderScales.y, tx = encodings[a + 1] / boxCoderScales.x
            let th = encodings[a + 2] / boxCoderScales.h, tw = encodings[a + 3] / boxCoderScales.w
            let w = Foundation.exp(tw) * wa, h = Foundation.exp(th) * ha
            let yc = ty * ha + yca, xc = tx * wa + xca
            boxes[a] = yc - h / 2
            boxes[a + 1] = xc - w / 2
            boxes[a + 2] = yc + h / 2
            boxes[a + 3] = xc + w / 2
        }
    }

    /// NMS over one class's decoded boxes (anchors, 4) and probabilities (anchors), then the
    /// clip to the unit image; returns (box [ymin, xmin, ymax, xmax], score), best first,
    /// only scores above `minScore` (at least the graph's threshold), at most `maxCount`.
    func select(boxes: UnsafePointer<Float>, scores: UnsafePointer<Float>, count: Int, minScore: Float,
                maxCount: Int) -> [(box: [Float], score: Float)] {
        let threshold = max(minScore, scoreThreshold)
        let candidates = (0..<count).filter { scores[$0] > threshold }
        // Decoded boxes always have positive size (exp(·) × anchor size), where Box.iou and
        // TensorFlow's NMS overlap agree; ties go to the lower anchor index in both.
        let boxList = candidates.map { i in Box(x0: boxes[i * 4 + 1], y0: boxes[i * 4], x1: boxes[i * 4 + 3], y1: boxes[i * 4 + 2]) }
        let kept = nonMaximumSuppression(boxes: boxList, scores: candidates.map { scores[$0] }, iouThreshold: iouThreshold,
                                         maxCount: min(maxPerClass, maxCount))
        var out: [(box: [Float], score: Float)] = []
        for k in kept {
            let b = boxList[k]
            // clip_to_window([0, 0, 1, 1]), then boxes left with no area are dropped.
            let c = [min(max(b.y0, 0), 1), min(max(b.x0, 0), 1), min(max(b.y1, 0), 1), min(max(b.x1, 0), 1)]
            if (c[2] - c[0]) * (c[3] - c[1]) > 0 { out.append((c, scores[candidates[k]])) }
        }
        return Array(out.prefix(min(maxTotal, maxCount)))
    }
}

extension SSDPostprocessing {
    static let nmsScope = "Postprocessor/BatchMultiClassNonMaxSuppression/map/while/MultiClassNonMaxSuppression"

    /// Reads the box coder's scale factors and the NMS settings from the graph's constants.
    init(graph: TensorFlowGraph) throws(PersonDetectorError) {
        func scalar(_ name: String) throws(PersonDetectorError) -> Float {
            let values: [Float]
            do { values = try graph.constant(name).floats() } catch { throw .model(error) }
            guard values.count == 1 else { throw .topology(path: graph.path, node: name, reason: "holds \(values.count) values, expected 1") }
            return values[0]
        }
        func count(_ name: String) throws(PersonDetectorError) -> Int {
            let values: [Int64]
            do { values = try graph.integers(name) } catch { throw .model(error) }
            guard values.count == 1, let v = values.first, v > 0, v < 100_000 else {
                throw .topology(path: graph.path, node: name, reason: "holds \(values), expected one positive count")
            }
            return Int(v)
        }
        let d = "Postprocessor/Decode"
        self.init()
        logitScale = try scalar("Postprocessor/scale_logits/y")
        boxCoderScales = (try scalar("\(d)/truediv/y"), try scalar("\(d)/truediv_1/y"), try scalar("\(d)/truediv_2/y"),
                          try scalar("\(d)/truediv_3/y"))
        let nms = "\(Self.nmsScope)/non_max_suppression"
        iouThreshold = try scalar("\(nms)/iou_threshold")
        scoreThreshold = try scalar("\(nms)/score_threshold")
        maxPerClass = try count("\(Self.nmsScope)/Minimum/x")
        maxTotal = try count("\(Self.nmsScope)/Minimum_1/x")
    }
}
