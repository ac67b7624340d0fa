// Axis-aligned boxes in pixel coordinates of the picture that was analysed, and the greedy
// non-maximum suppression the detectors share. Each detector keeps its own reference's
// rules (score threshold, IoU threshold, per-class or not); this is only the common part.

/// A box `[x0, y0, x1, y1)` in pixels of the analysed picture, x to the right, y down.
public struct Box: Sendable, Equatable, Codable {
    public var x0: Float
    public var y0: Float
    public var x1: Float
    public var y1: Float

    public init(x0: Float, y0: Float, x1: Float, y1: Float) {
        self.x0 = x0
        self.y0 = y0
        self.x1 = x1
        self.y1 = y1
    }

    public var width: Float { max(0, x1 - x0) }
    public var height: Float { max(0, y1 - y0) }
    public var area: Float { width * height }

    /// Intersection over union; 0 when either box is empty.
    public func iou(_ other: Box) -> Float {
        let iw = min(x1, other.x1) - max(x0, other.x0)
        let ih = min(y1, other.y1) - max(y0, other.y0)
        guard iw > 0, ih > 0 else { return 0 }
        let inter = iw * ih
        let union = area + other.area - inter
        return union > 0 ? inter / union : 0
    }
}

/// Greedy non-maximum suppression: visits boxes by descending score (ties keep input order)
/// and keeps a box unless it overlaps an already kept one by more than `iouThreshold`.
/// Returns the kept indices into `boxes`, best first, at most `maxCount`.
public func nonMaximumSuppression(boxes: [Box], scores: [Float], iouThreshold: Float,
                                  maxCount: Int = .max) -> [Int]
{
    precondition(boxes.count == scores.count, "one score per box")
    let order = boxes.indices.sorted { scores[$0] > scores[$1] || (scores[$0] == scores[$1] && $0 < $1) }
    var kept: [Int] = []
    for i in order {
        if kept.count >= maxCount { break }
        if kept.allSatisfy({ boxes[$0].iou(boxes[i]) <= iouThreshold }) { kept.append(i) }
    }
    return kept
}
