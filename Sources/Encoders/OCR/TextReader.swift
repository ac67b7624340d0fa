// On-screen text with PP-OCRv5 mobile (PaddleOCR): DBNet finds text regions, a PP-LCNet
// classifier tells upside-down lines, and the SVTR-LCNet recogniser reads each line with
// CTC. Ports PaddleOCR's pipeline with the PP-OCRv5 defaults:
//   detection   short side raised to at least 64 px, long side capped at 4000 px, both
//               rounded to multiples of 32 (cv2 bilinear); ImageNet mean/std on BGR /255
//   DB boxes    probability > 0.3, each region's minimum-area rectangle (short side >= 3),
//               box score = mean probability inside it (>= 0.6), unclip by area·1.5/perimeter
//               (Clipper round offset), rectangle again (short side >= 5), scaled back
//   lines       clockwise quads clipped to the picture, sides > 3 px, sorted top-to-bottom
//               then left-to-right (PaddleOCR's 10-px same-line rule), perspective-cropped
//               (bicubic, replicated border), turned 90° when 1.5× taller than wide
//   orientation 160×80 resize, ImageNet normalisation; class 1 = 180°: rotate the crop
//   recognition height 48, width 48·max(320/48, w/h), aspect kept, zero padded, (x/255-0.5)/0.5;
//               CTC greedy decode (blank 0, repeats merged), score = mean max probability
// Region contours are the 8-connected components of the thresholded map (holes inside a
// region are not separate candidates; OpenCV's RETR_LIST would list them too, and they
// fail the size or score tests on text maps).
import Foundation
import ImageOps
import Kernels
import ModelIO

/// One line of recognised text.
public struct TextLine: Sendable, Equatable {
    public var text: String
    /// Mean of the per-character maximum probabilities, 0...1.
    public var score: Float
    /// Corners in input-picture pixels: top-left, top-right, bottom-right, bottom-left.
    public var quad: [(x: Float, y: Float)]
    /// The quad's axis-aligned bounds.
    public var box: Box
    /// 180 when the orientation classifier turned the line over.
    public var angle: Int

    public static func == (a: TextLine, b: TextLine) -> Bool {
        a.text == b.text && a.score == b.score && a.box == b.box && a.angle == b.angle
            && a.quad.map(\.x) == b.quad.map(\.x) && a.quad.map(\.y) == b.quad.map(\.y)
    }
}

public final class TextReader: Sendable {
    // MARK: Blueprint (PaddleOCR PP-OCRv5 defaults)
    static let detLimitSide = 64
    static let detMaxSide = 4000
    static let detMean: [Float] = [0.485, 0.456, 0.406]
    static let detStd: [Float] = [0.229, 0.224, 0.225]
    static let binaryThreshold: Float = 0.3
    static let boxThreshold: Double = 0.6
    static let unclipRatio = 1.5
    static let maxCandidates = 1000
    static let minSize = 3.0
    static let clsHeight = 80, clsWidth = 160
    static let recHeight = 48, recWidth = 320

    public static let files = (det: "ppocrv5_det.onnx", cls: "ppocrv5_cls.onnx", rec: "ppocrv5_rec.onnx", keys: "ppocr_keys_v5.txt")

    // MARK: Weights
    let det: ONNXNetwork
    let cls: ONNXNetwork
    let rec: ONNXNetwork
    /// Index-aligned with the recogniser's classes: 0 = CTC blank, last = space.
    let characters: [String]
    let pool: ThreadPool

    /// Loads the three networks and the dictionary from `directory` (a ppocr-v5-mobile model directory).
    public init(directory: String, pool: ThreadPool = .shared) throws {
        det = try ONNXNetwork(model: ONNXModel(path: directory + "/" + Self.files.det))
        cls = try ONNXNetwork(model: ONNXModel(path: directory + "/" + Self.files.cls))
        rec = try ONNXNetwork(model: ONNXModel(path: directory + "/" + Self.files.rec))
        let keysPath = directory + "/" + Self.files.keys
        guard let text = try? String(contentsOfFile: keysPath, encoding: .utf8) else {
            throw OCRError.dictionary(path: keysPath, reason: "cannot be read as UTF-8 text")
        }
        var lines = text.components(separatedBy: "\n")
        if lines.last == "" { lines.removeLast() }
        guard lines.count > 2, lines[0] == "blank" else {
            throw OCRError.dictionary(path: keysPath, reason: "expected \"blank\" on the first line and one character per line")
        }
        characters = lines
        self.pool = pool
    }

    /// The text lines in `image`, top to bottom; empty for a picture without text.
    /// `detectionMaxSide` caps the detector's input on its longer side (PaddleOCR's
    /// `limit_type="max"`, e.g. 960, its older default) instead of PP-OCRv5's 4000; lines
    /// are still read from the full-size picture. `known` may give the text of a detected
    /// line's box (a caller that knows those pixels have not changed since it read them):
    /// that line is not classified or recognised again.
    public func read(_ image: RGBImage, detectionMaxSide: Int? = nil,
                     known: ((Box) -> (text: String, score: Float, angle: Int)?)? = nil) throws -> [TextLine] {
        var bgr = [UInt8](repeating: 0, count: image.pixels.count)
        image.pixels.withUnsafeBufferPointer { rgb in
            bgr.withUnsafeMutableBufferPointer { bgr in
                let row = image.width * 3
                pool.parallelFor(image.height, minChunk: max(1, 65536 / max(row, 1))) { rows in
                    for i in stride(from: rows.lowerBound * row, to: rows.upperBound * row, by: 3) {
                        bgr[i] = rgb[i + 2]; bgr[i + 1] = rgb[i + 1]; bgr[i + 2] = rgb[i]
                    }
                }
            }
        }
        let picture = Pixels(width: image.width, height: image.height, data: bgr)
        let quads = try detect(picture, maxSide: detectionMaxSide ?? Self.detMaxSide)
        var lines: [TextLine?] = Array(repeating: nil, count: quads.count)
        var unread: [(index: Int, quad: [Point], corners: [(x: Float, y: Float)], box: Box)] = []
        for (i, quad) in quads.enumerated() {
            let xs = quad.map { Float($0.x) }, ys = quad.map { Float($0.y) }
            let corners = zip(xs, ys).map { (x: $0, y: $1) }, box = Box(x0: xs.min()!, y0: ys.min()!, x1: xs.max()!, y1: ys.max()!)
            if let line = known?(box) {
                lines[i] = TextLine(text: line.text, score: line.score, quad: corners, box: box, angle: line.angle)
            } else {
                unread.append((i, quad, corners, box))
            }
        }
        // The widest lines first, so that no thread is left with a long line at the end.
        unread.sort { $0.box.x1 - $0.box.x0 > $1.box.x1 - $1.box.x0 }
        let read = try readLines(picture, unread.map(\.quad))
        for (line, result) in zip(unread, read) {
            guard let (text, score, angle) = result else { continue }
            lines[line.index] = TextLine(text: text, score: score, quad: line.corners, box: line.box, angle: angle)
        }
        return lines.compactMap { $0 }
    }

    /// Each quad's text, score and angle (nil: it cannot be cropped). Two lines or more are
    /// read one line per pool task: a line's networks work on 48-pixel-high inputs, too small
    /// for their kernels to gain from being split over the threads, so a whole line on each
    /// thread keeps both cores busy, the crop and the resizes included. A pool job holds the
    /// pool until its last task ends, so lines go in jobs of `linesPerThreadPerJob` per
    /// thread: a page of text does not keep other callers (another stream's speech) off the
    /// pool for all of its lines.
    func readLines(_ picture: Pixels, _ quads: [[Point]]) throws(OCRError) -> [(String, Float, Int)?] {
        if quads.count < 2 || pool.threadCount == 1 { return try quads.map { q throws(OCRError) in try readLine(picture, q) } }
        let perJob = Self.linesPerThreadPerJob * pool.threadCount
        var read: [(String, Float, Int)?] = []
        for first in stride(from: 0, to: quads.count, by: perJob) {
            read += try pool.map(tasks: min(perJob, quads.count - first)) { t throws(OCRError) in try readLine(picture, quads[first + t]) }
        }
        return read
    }

    /// Lines each pool thread reads in one pool job (see `readLines`).
    static let linesPerThreadPerJob = 4

    /// One quad cropped, turned upright when the classifier says so, and recognised.
    func readLine(_ picture: Pixels, _ quad: [Point]) throws(OCRError) -> (String, Float, Int)? {
        guard var crop = Self.crop(picture, quad) else { return nil }
        let probs = try classify(crop)
        let turned = probs.count == 2 && probs[1] > probs[0]
        if turned { crop = PixelOps.rotate180(crop) }
        let (text, score) = try recognise(crop)
        return (text, score, turned ? 180 : 0)
    }

    // MARK: - Detection

    static func detectionSize(width w: Int, height h: Int, maxSide: Int = detMaxSide) -> (width: Int, height: Int) {
        let ratio = min(w, h) < detLimitSide ? Double(detLimitSide) / Double(min(w, h)) : 1
        var rh = Int(Double(h) * ratio), rw = Int(Double(w) * ratio)
        if max(rh, rw) > maxSide {
            let r = Double(maxSide) / Double(max(rh, rw))
            rh = Int(Double(rh) * r); rw = Int(Double(rw) * r)
        }
        func round32(_ v: Int) -> Int { max(Int((Double(v) / 32).rounded(.toNearestOrEven)) * 32, 32) }
        return (round32(rw), round32(rh))
    }

    /// The probability map for the picture: (height, width) of the resized detector input.
    func probabilityMap(_ picture: Pixels, maxSide: Int = detMaxSide) throws -> Value {
        let size = Self.detectionSize(width: picture.width, height: picture.height, maxSide: maxSide)
        let input = PixelOps.normalized(PixelOps.resizeLinear(picture, width: size.width, height: size.height, pool: pool),
                                        mean: Self.detMean, std: Self.detStd, pool: pool)
        return try det.run(input, pool: pool)
    }

    /// Text quads in picture pixels, filtered and in reading order.
    func detect(_ picture: Pixels, maxSide: Int = detMaxSide) throws -> [[Point]] {
        let map = try probabilityMap(picture, maxSide: maxSide)
        guard map.shape.count == 4, map.shape[0] == 1, map.shape[1] == 1 else {
            throw OCRError.shape(node: "detector output", reason: "expected (1, 1, H, W), got \(map.shape)")
        }
        let boxes = Self.boxes(map: map.data, width: map.shape[3], height: map.shape[2],
                               sourceWidth: picture.width, sourceHeight: picture.height)
        return Self.sortedBoxes(Self.filter(boxes, width: picture.width, height: picture.height))
    }

    /// DB post-processing on a (height, width) probability map.
    static func boxes(map: [Float], width: Int, height: Int, sourceWidth: Int, sourceHeight: Int) -> [[Point]] {
        var label = [Int32](repeating: 0, count: width * height)
        var result: [[Point]] = []
        var stack: [Int] = []
        var regions = 0
        for start in 0..<(width * height) where map[start] > binaryThreshold && label[start] == 0 {
            regions += 1
            if regions > maxCandidates { break }
            // Flood the 8-connected region; keep its border pixels (the hull only needs those).
            var border: [Point] = []
            label[start] = Int32(regions)
            stack.append(start)
            while let i = stack.popLast() {
                let x = i % width, y = i / width
                var isBorder = false
                for dy in -1...1 {
                    for dx in -1...1 where dx != 0 || dy != 0 {
                        let nx = x + dx, ny = y + dy
                        guard nx >= 0, ny >= 0, nx < width, ny < height else { isBorder = true; continue }
                        let j = ny * width + nx
                        if map[j] > binaryThreshold {
                            if label[j] == 0 { label[j] = Int32(regions); stack.append(j) }
                        } else { isBorder = true }
                    }
                }
                if isBorder { border.append(Point(x: Double(x), y: Double(y))) }
            }
            let box = Geometry.miniBox(border)
            guard box.shortSide >= minSize else { continue }
            let score = boxScore(map: map, width: width, height: height, quad: box.corners)
            guard score >= boxThreshold else { continue }
            let distance = abs(Geometry.area(box.corners)) * unclipRatio / Geometry.perimeter(box.corners)
            let expanded = Geometry.offsetRound(box.corners, delta: distance)
            guard expanded.count >= 3 else { continue }
            let grown = Geometry.miniBox(expanded)
            guard grown.shortSide >= minSize + 2 else { continue }
            result.append(grown.corners.map { p in
                Point(x: min(max((p.x / Double(width) * Double(sourceWidth)).rounded(.toNearestOrEven), 0), Double(sourceWidth)),
                      y: min(max((p.y / Double(height) * Double(sourceHeight)).rounded(.toNearestOrEven), 0), Double(sourceHeight)))
            })
        }
        return result
    }

    /// Mean probability over the pixels of the quad (cv2.fillPoly on the truncated corners).
    static func boxScore(map: [Float], width: Int, height: Int, quad: [Point]) -> Double {
        let xs = quad.map(\.x), ys = quad.map(\.y)
        let xmin = min(max(Int(xs.min()!.rounded(.down)), 0), width - 1), xmax = min(max(Int(xs.max()!.rounded(.up)), 0), width - 1)
        let ymin = min(max(Int(ys.min()!.rounded(.down)), 0), height - 1), ymax = min(max(Int(ys.max()!.rounded(.up)), 0), height - 1)
        let poly = quad.map { Point(x: ($0.x - Double(xmin)).rounded(.towardZero), y: ($0.y - Double(ymin)).rounded(.towardZero)) }
        let orientation = Geometry.area(poly) >= 0 ? 1.0 : -1.0
        var sum = 0.0, count = 0
        for y in ymin...ymax {
            for x in xmin...xmax {
                let p = Point(x: Double(x - xmin), y: Double(y - ymin))
                var inside = true
                for i in 0..<poly.count {
                    let a = poly[i], b = poly[(i + 1) % poly.count]
                    if orientation * ((b.x - a.x) * (p.y - a.y) - (b.y - a.y) * (p.x - a.x)) < -1e-9 { inside = false; break }
                }
                if inside { sum += Double(map[y * width + x]); count += 1 }
            }
        }
        return count > 0 ? sum / Double(count) : 0
    }

    /// order_points_clockwise, clip to the picture, drop quads with a side of 3 px or less.
    static func filter(_ boxes: [[Point]], width: Int, height: Int) -> [[Point]] {
        boxes.compactMap { pts in
            let s = pts.map { $0.x + $0.y }
            guard let lo = s.indices.min(by: { s[$0] < s[$1] }), let hi = s.indices.max(by: { s[$0] < s[$1] }) else { return nil }
            let rest = pts.indices.filter { $0 != lo && $0 != hi }.map { pts[$0] }
            guard rest.count == 2 else { return nil }
            let d = rest.map { $0.y - $0.x }
            let (r1, r3) = d[0] <= d[1] ? (rest[0], rest[1]) : (rest[1], rest[0])
            let q = [pts[lo], r1, pts[hi], r3].map { p in
                Point(x: Double(Float(min(max(p.x, 0), Double(width - 1)))), y: Double(Float(min(max(p.y, 0), Double(height - 1)))))
            }
            let w = Int(hypot(q[0].x - q[1].x, q[0].y - q[1].y)), h = Int(hypot(q[0].x - q[3].x, q[0].y - q[3].y))
            return w <= 3 || h <= 3 ? nil : q
        }
    }

    /// PaddleOCR's sorted_boxes: by top-left (y, x), then neighbours within 10 px of height
    /// ordered left to right.
    static func sortedBoxes(_ boxes: [[Point]]) -> [[Point]] {
        var b = boxes.enumerated().sorted { ($0.element[0].y, $0.element[0].x, $0.offset) < ($1.element[0].y, $1.element[0].x, $1.offset) }.map(\.element)
        guard b.count > 1 else { return b }
        for i in 0..<(b.count - 1) {
            var j = i
            while j >= 0 {
                if abs(b[j + 1][0].y - b[j][0].y) < 10 && b[j + 1][0].x < b[j][0].x { b.swapAt(j, j + 1) } else { break }
                j -= 1
            }
        }
        return b
    }

    /// get_rotate_crop_image: the quad warped to an upright rectangle.
    static func crop(_ picture: Pixels, _ q: [Point]) -> Pixels? {
        func dist(_ a: Point, _ b: Point) -> Double { Double(Float(hypot(a.x - b.x, a.y - b.y))) }
        let w = Int(max(dist(q[0], q[1]), dist(q[2], q[3]))), h = Int(max(dist(q[0], q[3]), dist(q[1], q[2])))
        guard w > 0, h > 0, w <= 4 * detMaxSide, h <= 4 * detMaxSide else { return nil }
        let target = [Point(x: 0, y: 0), Point(x: Double(w), y: 0), Point(x: Double(w), y: Double(h)), Point(x: 0, y: Double(h))]
        guard let m = Geometry.perspectiveTransform(from: q, to: target),
              let out = PixelOps.warpPerspectiveCubic(picture, m: m, width: w, height: h) else { return nil }
        return Double(out.height) / Double(out.width) >= 1.5 ? PixelOps.rotate90CounterClockwise(out) : out
    }

    // MARK: - Orientation and recognition

    func classify(_ crop: Pixels) throws(OCRError) -> [Float] {
        let input = PixelOps.normalized(PixelOps.resizeLinear(crop, width: Self.clsWidth, height: Self.clsHeight),
                                        mean: Self.detMean, std: Self.detStd)
        return try cls.run(input, pool: pool).data
    }

    static func recognitionInput(_ crop: Pixels) -> Value {
        let ratio = Double(crop.width) / Double(crop.height)
        let width = Int(Double(recHeight) * max(Double(recWidth) / Double(recHeight), ratio))
        let resizedWidth = min(width, Int((Double(recHeight) * ratio).rounded(.up)))
        let resized = PixelOps.resizeLinear(crop, width: max(resizedWidth, 1), height: recHeight)
        return PixelOps.normalized(resized, mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5], padToWidth: width)
    }

    func recognise(_ crop: Pixels) throws(OCRError) -> (String, Float) {
        let probs = try rec.run(Self.recognitionInput(crop), pool: pool)
        guard probs.shape.count == 3, probs.shape[2] == characters.count else {
            throw OCRError.shape(node: "recogniser output", reason: "expected (1, T, \(characters.count)), got \(probs.shape)")
        }
        return Self.ctcDecode(probs.data, steps: probs.shape[1], classes: probs.shape[2], characters: characters)
    }

    static func ctcDecode(_ p: [Float], steps: Int, classes: Int, characters: [String]) -> (String, Float) {
        var text = "", scores: [Float] = [], previous = -1
        for t in 0..<steps {
            let best = p.withUnsafeBufferPointer { argmax($0.baseAddress! + t * classes, count: classes) ?? 0 }
            let value = p[t * classes + best]
            if best != 0 && best != previous {
                text += characters[best]
                scores.append(value)
            }
            previous = best
        }
        return (text, scores.isEmpty ? 0 : scores.reduce(0, +) / Float(scores.count))
    }
}
