// MTCNN face detection as facenet-pytorch's MTCNN.detect runs it
// (facenet_pytorch/models/utils/detect_face.py, detect_face; defaults of MTCNN()):
//
//  1. Image pyramid: scales 12/minFaceSize × factor^k while the shorter side times the
//     scale stays ≥ 12 pixels; each level area-resampled to (⌊h·s + 1⌋, ⌊w·s + 1⌋).
//  2. P-Net over each level: every output cell with face probability ≥ 0.6 is a
//     12×12 window at stride 2 mapped back to the picture; NMS per level (IoU 0.5), then
//     over all levels (IoU 0.7); box offsets applied relative to (x2 − x1, y2 − y1);
//     squared (rerec).
//  3. R-Net on 24×24 crops (clipped to the picture, area-resampled): keep probability >
//     0.7, NMS (IoU 0.7), offsets applied relative to (x2 − x1 + 1, ...), squared.
//  4. O-Net on 48×48 crops: keep probability > 0.7; landmarks placed in the box;
//     offsets applied; a last NMS that divides the overlap by the smaller box's area
//     ("Min", threshold 0.7, areas counted with +1 pixel as the original MATLAB code did).
//  5. Faces ordered largest box first (MTCNN(select_largest=True), facenet's default).
//
// The NMS steps use torchvision's IoU (ImageOps' nonMaximumSuppression computes it the same
// way); arithmetic on boxes is Float32, in the reference's order, so boxes agree to float
// rounding. Deviations, both for inputs where the reference fails or cannot cope:
//  - a crop whose clipped region is empty is dropped with its box (facenet-pytorch drops
//    the crop but keeps the box, which misaligns every later box with its scores);
//  - pyramid levels over `Options.maxLevelPixels` are skipped (bounding memory on huge
//    pictures: those levels only look for faces near the minimum size).
import ImageOps
import Kernels
import ModelIO
import Foundation

public struct FaceDetector: Sendable {
    /// The cascade's settings; the defaults are facenet-pytorch's MTCNN() defaults.
    public struct Options: Sendable, Equatable {
        /// Smallest face (pixels) the pyramid looks for.
        public var minFaceSize = 20
        /// Scale step between pyramid levels.
        public var factor = 0.709
        /// Face-probability thresholds of the three stages (facenet's `thresholds` list):
        /// P-Net keeps cells at or above its threshold, R- and O-Net keep crops above theirs.
        public var pnetThreshold: Float = 0.6
        public var rnetThreshold: Float = 0.7
        public var onetThreshold: Float = 0.7
        /// Pyramid levels with more pixels than this are skipped: a 1000 × 1000 level costs
        /// P-Net about 150 MB of scratch. Pictures up to about 2.7 megapixels never hit it.
        public var maxLevelPixels = 1_000_000
        public init() {}
    }

    /// The files Scripts/fetch-models installs in the model directory.
    public static let files = ["pnet.pt", "rnet.pt", "onet.pt"]

    /// Longest side accepted (a 16384 × 16384 picture is 805 MB of RGB already).
    public static let maxSide = 16384

    static let pnetCell = 12   // P-Net's receptive field: one output cell sees a 12 × 12 window
    static let pnetStride = 2  // and neighbouring cells are 2 pixels apart
    static let rnetSize = 24
    static let onetSize = 48
    static let levelNMS: Float = 0.5   // P-Net, within one pyramid level
    static let stageNMS: Float = 0.7   // P-Net over all levels, R-Net, O-Net ("Min")
    /// Crops per network call: bounds R-/O-Net scratch when P-Net proposes thousands.
    static let cropBatch = 128

    let pnet: MTCNNNetwork
    let rnet: MTCNNNetwork
    let onet: MTCNNNetwork
    public let options: Options
    let pool: ThreadPool

    /// The three networks from their state dicts (any TensorFile, names as in facenet-pytorch).
    public init(pnet: any TensorFile, rnet: any TensorFile, onet: any TensorFile, options: Options = Options(),
                pool: ThreadPool = .shared) throws(FaceDetectorError) {
        // A factor outside (0, 1) would never end the pyramid; a minimum face under 1 pixel has no scale.
        guard options.minFaceSize >= 1, options.factor > 0, options.factor < 1, options.maxLevelPixels >= 1 else {
            throw .invalidOptions("minFaceSize \(options.minFaceSize) (≥ 1), factor \(options.factor) (between 0 and 1), "
                                  + "maxLevelPixels \(options.maxLevelPixels) (≥ 1)")
        }
        do {
            self.pnet = try MTCNNNetwork(file: pnet, layers: MTCNNNetwork.pnetLayers, heads: MTCNNNetwork.pnetHeads)
            self.rnet = try MTCNNNetwork(file: rnet, layers: MTCNNNetwork.rnetLayers, heads: MTCNNNetwork.rnetHeads)
            self.onet = try MTCNNNetwork(file: onet, layers: MTCNNNetwork.onetLayers, heads: MTCNNNetwork.onetHeads)
        } catch {
            throw .model(error)
        }
        self.options = options
        self.pool = pool
    }

    // MARK: - Detection

    /// A candidate box through the cascade: corners, score and the regression offsets of the
    /// stage that produced it (P-Net's are applied after the level NMS).
    struct Candidate {
        var x1, y1, x2, y2, score: Float
        var offsets: (Float, Float, Float, Float) = (0, 0, 0, 0)
        var box: Box { Box(x0: x1, y0: y1, x1: x2, y1: y2) }
    }

    /// Faces in `image`, largest box first. Pictures whose shorter side is under
    /// minFaceSize (20) pixels have no pyramid level and give no faces.
    public func detect(_ image: RGBImage) throws(FaceDetectorError) -> [Face] {
        guard image.width <= Self.maxSide, image.height <= Self.maxSide else {
            throw .image(.tooLarge(width: image.width, height: image.height, limit: Self.maxSide))
        }
        do {
            var boxes = try proposals(image)
            if boxes.isEmpty { return [] }
            boxes = try refine(image, boxes)
            if boxes.isEmpty { return [] }
            return try output(image, boxes)
        } catch let error as FaceDetectorError {
            throw error
        } catch {
            throw .kernel("\(error)")
        }
    }

    /// The pyramid's scales (detect_face's loop, in Double as Python computes it).
    func scales(width: Int, height: Int) -> [Double] {
        let m = 12.0 / Double(options.minFaceSize)
        var minl = Double(min(width, height)) * m
        var scale = m
        var out: [Double] = []
        while minl >= 12 {
            out.append(scale)
            scale *= options.factor
            minl *= options.factor
        }
        return out
    }

    /// Stage 1: P-Net over the pyramid → squared candidate boxes. Levels run one per pool
    /// task, each P-Net on its own thread: a level's convolutions are too small to gain from
    /// being split over the threads, and the largest level is about half the work, so two
    /// threads share the pyramid evenly. Candidates are merged in level order, as one thread
    /// would find them.
    func proposals(_ image: RGBImage) throws -> [Candidate] {
        let levels = scales(width: image.width, height: image.height).compactMap { scale -> (scale: Double, width: Int, height: Int)? in
            let hs = Int(Double(image.height) * scale + 1), ws = Int(Double(image.width) * scale + 1)
            return hs * ws > options.maxLevelPixels ? nil : (scale, ws, hs)
        }
        func level(_ i: Int) throws -> [Candidate] {
            try levelProposals(image, levels[i].scale, width: levels[i].width, height: levels[i].height)
        }
        // One level alone keeps the pool for its own kernels.
        let all = levels.count == 1 ? try level(0) : try pool.map(tasks: levels.count, level).flatMap { $0 }
        return Self.nms(all, threshold: Self.stageNMS).map { c in
            let w = c.x2 - c.x1, h = c.y2 - c.y1
            return Self.square(Candidate(x1: c.x1 + c.offsets.0 * w, y1: c.y1 + c.offsets.1 * h,
                                         x2: c.x2 + c.offsets.2 * w, y2: c.y2 + c.offsets.3 * h, score: c.score))
        }
    }

    /// One pyramid level's candidates, after the level's own NMS.
    func levelProposals(_ image: RGBImage, _ scale: Double, width ws: Int, height hs: Int) throws -> [Candidate] {
        var level = [Float](repeating: 0, count: 3 * hs * ws) // (3, hs, ws)
        level.withUnsafeMutableBufferPointer {
            areaResize(image, x0: 0, y0: 0, width: image.width, height: image.height, outWidth: ws, outHeight: hs,
                       into: $0.baseAddress!, channelStride: hs * ws)
        }
        let (out, oh, ow) = try pnet.forward(level, batch: 1, height: hs, width: ws, pool: pool) // (6, 1, oh, ow)
        let cells = oh * ow
        var prob = [Float](repeating: 0, count: cells) // (oh, ow)
        for i in 0..<cells { prob[i] = out[cells + i] - out[i] }
        sigmoid(&prob, count: cells, pool: pool) // softmax over two classes = sigmoid of their difference
        let s = Float(scale)
        var found: [Candidate] = []
        for y in 0..<oh {
            for x in 0..<ow where prob[y * ow + x] >= options.pnetThreshold {
                let i = y * ow + x
                let fx = Float(Self.pnetStride * x), fy = Float(Self.pnetStride * y)
                var c = Candidate(x1: ((fx + 1) / s).rounded(.down), y1: ((fy + 1) / s).rounded(.down),
                                  x2: ((fx + Float(Self.pnetCell)) / s).rounded(.down),
                                  y2: ((fy + Float(Self.pnetCell)) / s).rounded(.down), score: prob[i])
                c.offsets = (out[2 * cells + i], out[3 * cells + i], out[4 * cells + i], out[5 * cells + i])
                found.append(c)
            }
        }
        return Self.nms(found, threshold: Self.levelNMS)
    }

    /// Stage 2: R-Net on 24 × 24 crops → kept, regressed, squared boxes.
    func refine(_ image: RGBImage, _ boxes: [Candidate]) throws -> [Candidate] {
        var kept: [Candidate] = []
        try runOnCrops(image, boxes, net: rnet, size: Self.rnetSize) { box, out in
            let score = out[1]
            guard score > options.rnetThreshold else { return }
            var c = Candidate(x1: box.x1, y1: box.y1, x2: box.x2, y2: box.y2, score: score)
            c.offsets = (out[2], out[3], out[4], out[5])
            kept.append(c)
        }
        return Self.nms(kept, threshold: Self.stageNMS).map { Self.square(Self.regress($0)) }
    }

    /// Stage 3: O-Net on 48 × 48 crops → faces with landmarks, after the "Min" NMS.
    func output(_ image: RGBImage, _ boxes: [Candidate]) throws -> [Face] {
        var faces: [Face] = []
        try runOnCrops(image, boxes, net: onet, size: Self.onetSize) { box, out in
            let score = out[1]
            guard score > options.onetThreshold else { return }
            // Landmarks are placed in the box O-Net saw, before its offsets move it.
            let w = box.x2 - box.x1 + 1, h = box.y2 - box.y1 + 1
            let points = (0..<5).map { k in Face.Point(x: w * out[6 + k] + box.x1 - 1, y: h * out[11 + k] + box.y1 - 1) }
            var c = Candidate(x1: box.x1, y1: box.y1, x2: box.x2, y2: box.y2, score: score)
            c.offsets = (out[2], out[3], out[4], out[5])
            let r = Self.regress(c)
            faces.append(Face(box: r.box, score: score, landmarks: points))
        }
        let keep = Self.nmsMin(faces.map(\.box), scores: faces.map(\.score), threshold: Self.stageNMS)
        let picked = keep.map { faces[$0] }
        // Largest first, as MTCNN.detect sorts with np.argsort(area)[::-1].
        let order = picked.indices.sorted { a, b in
            let areaA = picked[a].box.area, areaB = picked[b].box.area
            return areaA > areaB || (areaA == areaB && a > b)
        }
        return order.map { picked[$0] }
    }

    /// Crops every box (clipped to the picture as detect_face's `pad` clips it), resamples
    /// to size × size, runs `net` in batches and hands each box its output row: [class-0
    /// logit, face probability, 4 box offsets, (10 landmark coordinates: 5 x then 5 y)].
    private func runOnCrops(_ image: RGBImage, _ boxes: [Candidate], net: MTCNNNetwork, size: Int,
                            _ body: (Candidate, UnsafeBufferPointer<Float>) -> Void) throws {
        // pad(): truncate toward zero, clamp the top-left to 1 and the bottom-right to the
        // picture; the crop is rows y−1 ..< ey, columns x−1 ..< ex (1-based corners).
        var crops: [(box: Candidate, x: Int, y: Int, w: Int, h: Int)] = []
        for b in boxes {
            guard let x = Self.truncated(b.x1), let y = Self.truncated(b.y1), let ex = Self.truncated(b.x2),
                  let ey = Self.truncated(b.y2) else { continue }
            let x0 = max(x, 1) - 1, y0 = max(y, 1) - 1, x1 = min(ex, image.width), y1 = min(ey, image.height)
            guard x1 > x0, y1 > y0 else { continue } // empty region: dropped (see the file comment)
            crops.append((b, x0, y0, x1 - x0, y1 - y0))
        }
        let plane = size * size
        var start = 0
        while start < crops.count {
            let batch = min(Self.cropBatch, crops.count - start)
            var input = [Float](repeating: 0, count: 3 * batch * plane) // (3, batch, size, size)
            input.withUnsafeMutableBufferPointer { buf in
                for n in 0..<batch {
                    let c = crops[start + n]
                    areaResize(image, x0: c.x, y0: c.y, width: c.w, height: c.h, outWidth: size, outHeight: size,
                               into: buf.baseAddress! + n * plane, channelStride: batch * plane)
                }
            }
            var (out, _, _) = try net.forward(input, batch: batch, height: size, width: size, pool: pool) // (batch, heads)
            let stride = net.headOutputs
            // Softmax over the two class logits: the face probability is the sigmoid of their difference.
            var prob = (0..<batch).map { out[$0 * stride + 1] - out[$0 * stride] } // (batch)
            sigmoid(&prob, count: batch, pool: pool)
            for n in 0..<batch { out[n * stride + 1] = prob[n] }
            out.withUnsafeBufferPointer { o in
                for n in 0..<batch { body(crops[start + n].box, UnsafeBufferPointer(rebasing: o[(n * stride)..<((n + 1) * stride)])) }
            }
            start += batch
        }
    }

    // MARK: - Box arithmetic (detect_face's helpers)

    /// `Float.trunc().int()`, nil when the value does not fit (a non-finite or absurd box).
    static func truncated(_ v: Float) -> Int? {
        guard v.isFinite, abs(v) < 1e9 else { return nil }
        return Int(v.rounded(.towardZero))
    }

    /// bbreg: offsets scaled by the box size counted with +1 pixel.
    static func regress(_ c: Candidate) -> Candidate {
        let w = c.x2 - c.x1 + 1, h = c.y2 - c.y1 + 1
        return Candidate(x1: c.x1 + c.offsets.0 * w, y1: c.y1 + c.offsets.1 * h, x2: c.x2 + c.offsets.2 * w,
                         y2: c.y2 + c.offsets.3 * h, score: c.score)
    }

    /// rerec: the square of side max(w, h) with the same centre.
    static func square(_ c: Candidate) -> Candidate {
        let h = c.y2 - c.y1, w = c.x2 - c.x1
        let l = max(w, h)
        let x1 = c.x1 + w * 0.5 - l * 0.5, y1 = c.y1 + h * 0.5 - l * 0.5
        return Candidate(x1: x1, y1: y1, x2: x1 + l, y2: y1 + l, score: c.score)
    }

    /// torchvision's nms (IoU, suppress above `threshold`), kept candidates best first.
    static func nms(_ cs: [Candidate], threshold: Float) -> [Candidate] {
        nonMaximumSuppression(boxes: cs.map(\.box), scores: cs.map(\.score), iouThreshold: threshold).map { cs[$0] }
    }

    /// detect_face's nms_numpy with method "Min": overlap = intersection / smaller area,
    /// widths and heights counted with +1 pixel; suppress above `threshold`. Kept indices,
    /// best first.
    static func nmsMin(_ boxes: [Box], scores: [Float], threshold: Float) -> [Int] {
        let area = boxes.map { ($0.x1 - $0.x0 + 1) * ($0.y1 - $0.y0 + 1) }
        var remaining = boxes.indices.sorted { scores[$0] > scores[$1] || (scores[$0] == scores[$1] && $0 > $1) }
        var kept: [Int] = []
        while let i = remaining.first {
            kept.append(i)
            remaining = remaining.dropFirst().filter { j in
                let w = max(0, min(boxes[i].x1, boxes[j].x1) - max(boxes[i].x0, boxes[j].x0) + 1)
                let h = max(0, min(boxes[i].y1, boxes[j].y1) - max(boxes[i].y0, boxes[j].y0) + 1)
                return w * h / min(area[i], area[j]) <= threshold
            }
        }
        return kept
    }
}

extension FaceDetector {
    /// The three networks from a model directory as Scripts/fetch-models lays it out
    /// ($SIGHTLINE_MODELS/mtcnn/{pnet,rnet,onet}.pt).
    public init(directory: URL, options: Options = Options(), pool: ThreadPool = .shared) throws(FaceDetectorError) {
        func open(_ name: String) throws(FaceDetectorError) -> any TensorFile {
            do {
                return try TorchCheckpointFile(path: directory.appendingPathComponent(name).path)
            } catch {
                throw .model(error)
            }
        }
        try self.init(pnet: open("pnet.pt"), rnet: open("rnet.pt"), onet: open("onet.pt"), options: options, pool: pool)
    }
}
