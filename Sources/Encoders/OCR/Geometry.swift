// The planar geometry of PaddleOCR's DB post-processing and text-line cropping, written out
// as the libraries it calls compute it: OpenCV's minAreaRect / boxPoints (rotating calipers
// over the convex hull), fillPoly-style polygon masks, Clipper's round-join polygon offset
// (pyclipper, the "unclip" step), and the perspective transform of getPerspectiveTransform.
// Points are (x, y) in pixels, y down.
import Foundation

struct Point: Equatable {
    var x: Double
    var y: Double
}

/// A rotated rectangle: its four corners and its shorter side.
struct RotatedRect {
    var corners: [Point]
    var shortSide: Double
}

enum Geometry {
    /// Convex hull (Andrew's monotone chain), counter-clockwise in y-up terms, no collinear points.
    static func convexHull(_ points: [Point]) -> [Point] {
        let p = points.sorted { $0.x < $1.x || ($0.x == $1.x && $0.y < $1.y) }
        guard p.count > 2 else { return p }
        func cross(_ o: Point, _ a: Point, _ b: Point) -> Double { (a.x - o.x) * (b.y - o.y) - (a.y - o.y) * (b.x - o.x) }
        var lower: [Point] = [], upper: [Point] = []
        for q in p {
            while lower.count >= 2 && cross(lower[lower.count - 2], lower[lower.count - 1], q) <= 0 { lower.removeLast() }
            lower.append(q)
        }
        for q in p.reversed() {
            while upper.count >= 2 && cross(upper[upper.count - 2], upper[upper.count - 1], q) <= 0 { upper.removeLast() }
            upper.append(q)
        }
        return Array(lower.dropLast() + upper.dropLast())
    }

    /// The minimum-area enclosing rectangle of `points` (one of its sides lies on a hull edge).
    static func minAreaRect(_ points: [Point]) -> RotatedRect {
        let hull = convexHull(points)
        guard hull.count > 2 else {
            // A point or a segment: a zero-width rectangle along it.
            let a = hull.first ?? Point(x: 0, y: 0), b = hull.last ?? a
            return RotatedRect(corners: [a, b, b, a], shortSide: 0)
        }
        var best: (area: Double, corners: [Point], short: Double)?
        for i in 0..<hull.count {
            let a = hull[i], b = hull[(i + 1) % hull.count]
            let len = hypot(b.x - a.x, b.y - a.y)
            guard len > 0 else { continue }
            let ux = (b.x - a.x) / len, uy = (b.y - a.y) / len // edge direction
            var minU = Double.infinity, maxU = -Double.infinity, minV = Double.infinity, maxV = -Double.infinity
            for q in hull {
                let u = (q.x - a.x) * ux + (q.y - a.y) * uy
                let v = -(q.x - a.x) * uy + (q.y - a.y) * ux
                minU = min(minU, u); maxU = max(maxU, u); minV = min(minV, v); maxV = max(maxV, v)
            }
            let area = (maxU - minU) * (maxV - minV)
            if best == nil || area < best!.area - 1e-9 {
                func at(_ u: Double, _ v: Double) -> Point { Point(x: a.x + u * ux - v * uy, y: a.y + u * uy + v * ux) }
                best = (area, [at(minU, minV), at(maxU, minV), at(maxU, maxV), at(minU, maxV)], min(maxU - minU, maxV - minV))
            }
        }
        guard let best else { return RotatedRect(corners: [hull[0], hull[0], hull[0], hull[0]], shortSide: 0) }
        return RotatedRect(corners: best.corners, shortSide: best.short)
    }

    /// PaddleOCR's get_mini_boxes corner order: sort by x, then take the left pair top-first
    /// and the right pair so the quad runs top-left, top-right, bottom-right, bottom-left.
    static func miniBox(_ points: [Point]) -> RotatedRect {
        let rect = minAreaRect(points)
        let p = rect.corners.enumerated().sorted { ($0.element.x, $0.offset) < ($1.element.x, $1.offset) }.map(\.element)
        let (i1, i4) = p[1].y > p[0].y ? (0, 1) : (1, 0)
        let (i2, i3) = p[3].y > p[2].y ? (2, 3) : (3, 2)
        return RotatedRect(corners: [p[i1], p[i2], p[i3], p[i4]], shortSide: rect.shortSide)
    }

    static func area(_ poly: [Point]) -> Double {
        var s = 0.0
        for i in poly.indices {
            let a = poly[i], b = poly[(i + 1) % poly.count]
            s += a.x * b.y - b.x * a.y
        }
        return s / 2
    }

    static func perimeter(_ poly: [Point]) -> Double {
        poly.indices.reduce(0) { $0 + hypot(poly[($1 + 1) % poly.count].x - poly[$1].x, poly[($1 + 1) % poly.count].y - poly[$1].y) }
    }

    /// Clipper's ClipperOffset with round joins on one closed polygon (pyclipper's default
    /// arc tolerance 0.25): coordinates are first truncated to integers as pyclipper does,
    /// and every output vertex is rounded to an integer.
    static func offsetRound(_ polygon: [Point], delta: Double) -> [Point] {
        var src = polygon.map { Point(x: $0.x.rounded(.towardZero), y: $0.y.rounded(.towardZero)) }
        // Drop consecutive duplicates (Clipper strips them).
        var deduplicated: [Point] = []
        for p in src where deduplicated.last != p { deduplicated.append(p) }
        src = deduplicated
        if src.count > 1, src.first == src.last { src.removeLast() }
        guard src.count >= 3, delta > 0 else { return src }
        // Clipper orients outer polygons so that a positive delta grows them.
        if area(src) < 0 { src.reverse() }
        let arcTolerance = min(0.25, delta * 0.25)
        let steps = Double.pi / acos(1 - arcTolerance / delta)
        let sinStep = sin(2 * Double.pi / steps), cosStep = cos(2 * Double.pi / steps)
        let stepsPerRad = steps / (2 * Double.pi)
        let n = src.count
        // Unit normals of each edge (i -> i+1), Clipper's GetUnitNormal: (dy, -dx) / len.
        var normals: [Point] = []
        for i in 0..<n {
            let a = src[i], b = src[(i + 1) % n]
            let dx = b.x - a.x, dy = b.y - a.y, len = hypot(dx, dy)
            normals.append(len == 0 ? Point(x: 0, y: 0) : Point(x: dy / len, y: -dx / len))
        }
        var out: [Point] = []
        func push(_ x: Double, _ y: Double) { out.append(Point(x: x.rounded(.toNearestOrAwayFromZero), y: y.rounded(.toNearestOrAwayFromZero))) }
        var k = n - 1
        for j in 0..<n {
            let nk = normals[k], nj = normals[j], p = src[j]
            var sinA = nk.x * nj.y - nj.x * nk.y
            if abs(sinA * delta) < 1.0 {
                let cosA = nk.x * nj.x + nj.y * nk.y
                if cosA > 0 { push(p.x + nk.x * delta, p.y + nk.y * delta); k = j; continue }
            } else if sinA > 1 { sinA = 1 } else if sinA < -1 { sinA = -1 }
            if sinA * delta < 0 {
                push(p.x + nk.x * delta, p.y + nk.y * delta)
                out.append(Point(x: p.x, y: p.y))
                push(p.x + nj.x * delta, p.y + nj.y * delta)
            } else {
                let a = atan2(sinA, nk.x * nj.x + nk.y * nj.y)
                let count = max(Int((stepsPerRad * abs(a)).rounded(.toNearestOrAwayFromZero)), 1)
                var x = nk.x, y = nk.y
                for _ in 0..<count {
                    push(p.x + x * delta, p.y + y * delta)
                    let x2 = x
                    x = x * cosStep - sinStep * y
                    y = x2 * sinStep + y * cosStep
                }
                push(p.x + nj.x * delta, p.y + nj.y * delta)
            }
            k = j
        }
        return out
    }

    /// The 3x3 homography mapping `from[i]` to `to[i]` (getPerspectiveTransform), row-major.
    static func perspectiveTransform(from: [Point], to: [Point]) -> [Double]? {
        // Solve the 8x8 system for h00..h21 with h22 = 1 (Gaussian elimination, partial pivoting).
        var a = [[Double]](repeating: [Double](repeating: 0, count: 9), count: 8)
        for i in 0..<4 {
            let (x, y, u, v) = (from[i].x, from[i].y, to[i].x, to[i].y)
            a[i] = [x, y, 1, 0, 0, 0, -x * u, -y * u, u]
            a[i + 4] = [0, 0, 0, x, y, 1, -x * v, -y * v, v]
        }
        for c in 0..<8 {
            guard let pivot = (c..<8).max(by: { abs(a[$0][c]) < abs(a[$1][c]) }), abs(a[pivot][c]) > 1e-12 else { return nil }
            a.swapAt(c, pivot)
            for r in 0..<8 where r != c {
                let f = a[r][c] / a[c][c]
                if f != 0 { for k in c..<9 { a[r][k] -= f * a[c][k] } }
            }
        }
        return (0..<8).map { a[$0][8] / a[$0][$0] } + [1]
    }

    static func invert3x3(_ m: [Double]) -> [Double]? {
        let det = m[0] * (m[4] * m[8] - m[5] * m[7]) - m[1] * (m[3] * m[8] - m[5] * m[6]) + m[2] * (m[3] * m[7] - m[4] * m[6])
        guard abs(det) > 1e-300 else { return nil }
        let d = 1 / det
        return [(m[4] * m[8] - m[5] * m[7]) * d, (m[2] * m[7] - m[1] * m[8]) * d, (m[1] * m[5] - m[2] * m[4]) * d,
                (m[5] * m[6] - m[3] * m[8]) * d, (m[0] * m[8] - m[2] * m[6]) * d, (m[2] * m[3] - m[0] * m[5]) * d,
                (m[3] * m[7] - m[4] * m[6]) * d, (m[1] * m[6] - m[0] * m[7]) * d, (m[0] * m[4] - m[1] * m[3]) * d]
    }
}
