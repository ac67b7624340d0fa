// The development set (Tests/Fixtures/devset): its clips and annotated queries, and how an
// answer is scored against them. A moment is correct when its temporal IoU with any of the
// query's true ranges is at least `iouThreshold`; per query, R@1 asks that of the first
// moment, R@5 of any of the first five, and IoU is the first moment's best IoU (0 when there
// is none). Scores are averaged per query kind and over all queries.
import Foundation

public struct DevSet: Decodable, Sendable {
    public struct Clip: Decodable, Sendable {
        public var file: String
        public var durationMs: Int64
        enum CodingKeys: String, CodingKey { case file, durationMs = "duration_ms" }
    }
    public struct Query: Decodable, Sendable {
        public var id: String
        public var clip: String
        public var kind: String
        public var text: String
        /// True ranges, [start_ms, end_ms) on the clip's timeline.
        public var ranges: [[Int64]]
        public var annotation: String
        public var note: String
        /// For how-many queries: the count the ranges show.
        public var count: Int?

        public init(id: String, clip: String, kind: String, text: String, ranges: [[Int64]], annotation: String,
                    note: String, count: Int? = nil)
        {
            self.id = id
            self.clip = clip
            self.kind = kind
            self.text = text
            self.ranges = ranges
            self.annotation = annotation
            self.note = note
            self.count = count
        }
    }
    public var kinds: [String]
    public var clips: [String: Clip]
    public var queries: [Query]

    /// A moment counts as correct at or above this temporal IoU with a true range.
    public static let iouThreshold = 0.5
    /// Moments asked for per query (R@5).
    public static let limit = 5

    /// The committed set.
    public static func load() throws -> DevSet {
        let data = try Data(contentsOf: URL(fileURLWithPath: Fixtures.path("devset/queries.json")))
        return try JSONDecoder().decode(DevSet.self, from: data)
    }

    /// The path of a clip's media file.
    public func path(clip: String) -> String? { clips[clip].map { Fixtures.path("devset/" + $0.file) } }

    /// Temporal IoU of [a0, a1) and [b0, b1); 0 for empty spans.
    public static func iou(_ a0: Int64, _ a1: Int64, _ b0: Int64, _ b1: Int64) -> Double {
        let inter = max(0, min(a1, b1) - max(a0, b0))
        let union = max(a1, b1) - min(a0, b0)
        return union > 0 && a1 > a0 && b1 > b0 ? Double(inter) / Double(union) : 0
    }

    /// The best IoU of the span [start, end) with any of `ranges`.
    public static func bestIoU(_ start: Int64, _ end: Int64, ranges: [[Int64]]) -> Double {
        ranges.filter { $0.count == 2 }.map { iou(start, end, $0[0], $0[1]) }.max() ?? 0
    }
}

/// One query's outcome.
public struct DevSetOutcome: Sendable, Codable, Equatable {
    public var id: String
    public var kind: String
    public var hitAt1: Bool
    public var hitAt5: Bool
    /// The first moment's best IoU with a true range (0 when none was returned).
    public var iou: Double
    /// The spans returned, [start_ms, end_ms], best first.
    public var returned: [[Int64]]

    /// Scores the moments' spans (best first) for `query`.
    public init(query: DevSet.Query, spans: [(startMs: Int64, endMs: Int64)]) {
        id = query.id
        kind = query.kind
        let ious = spans.prefix(DevSet.limit).map { DevSet.bestIoU($0.startMs, $0.endMs, ranges: query.ranges) }
        hitAt1 = (ious.first ?? 0) >= DevSet.iouThreshold
        hitAt5 = ious.contains { $0 >= DevSet.iouThreshold }
        iou = ious.first ?? 0
        returned = spans.prefix(DevSet.limit).map { [$0.startMs, $0.endMs] }
    }
}

/// Averages over a group of queries.
public struct DevSetScore: Sendable, Codable, Equatable {
    public var queries: Int
    public var r1: Double
    public var r5: Double
    public var miou: Double

    public init(_ outcomes: [DevSetOutcome]) {
        let n = Double(max(outcomes.count, 1))
        queries = outcomes.count
        r1 = Double(outcomes.filter(\.hitAt1).count) / n
        r5 = Double(outcomes.filter(\.hitAt5).count) / n
        miou = outcomes.map(\.iou).reduce(0, +) / n
    }
}

/// The scores of one run: per kind and "all", and how a later run may fall short of them.
public struct DevSetReport: Sendable, Codable, Equatable {
    /// How much lower a later run may score before it fails: R@1 and R@5 by at most this
    /// many queries of a kind (the numbers are deterministic on one machine; another CPU's
    /// kernels can flip a borderline query), mIoU by at most `miou`.
    public struct Tolerance: Sendable, Codable, Equatable {
        public var recallQueries: Int
        public var miou: Double
        enum CodingKeys: String, CodingKey { case recallQueries = "recall_queries", miou }
    }
    public var iouThreshold: Double
    public var limit: Int
    public var tolerance: Tolerance
    public var scores: [String: DevSetScore]
    enum CodingKeys: String, CodingKey { case iouThreshold = "iou_threshold", limit, tolerance, scores }

    public static let defaultTolerance = Tolerance(recallQueries: 1, miou: 0.05)
    public static let all = "all"

    public init(outcomes: [DevSetOutcome], kinds: [String], tolerance: Tolerance = DevSetReport.defaultTolerance) {
        iouThreshold = DevSet.iouThreshold
        limit = DevSet.limit
        self.tolerance = tolerance
        var s: [String: DevSetScore] = [:]
        for k in kinds { s[k] = DevSetScore(outcomes.filter { $0.kind == k }) }
        s[Self.all] = DevSetScore(outcomes)
        scores = s
    }

    /// Where this run falls short of `baseline` beyond its tolerance, one line each.
    public func shortfalls(against baseline: DevSetReport) -> [String] {
        var out: [String] = []
        let t = baseline.tolerance
        for (kind, b) in baseline.scores.sorted(by: { $0.key < $1.key }) {
            guard let s = scores[kind] else { out.append("\(kind): no queries scored"); continue }
            let slack = Double(t.recallQueries) / Double(max(b.queries, 1)) + 1e-9
            if s.r1 < b.r1 - slack { out.append(String(format: "%@: R@1 %.3f < baseline %.3f", kind, s.r1, b.r1)) }
            if s.r5 < b.r5 - slack { out.append(String(format: "%@: R@5 %.3f < baseline %.3f", kind, s.r5, b.r5)) }
            if s.miou < b.miou - t.miou - 1e-9 { out.append(String(format: "%@: mIoU %.3f < baseline %.3f", kind, s.miou, b.miou)) }
        }
        return out
    }

    /// A Markdown table, kinds in `order` then "all".
    public func table(order: [String]) -> String {
        var out = "| kind | queries | R@1 | R@5 | mIoU |\n|---|---|---|---|---|\n"
        for k in order + [Self.all] {
            guard let s = scores[k] else { continue }
            out += String(format: "| %@ | %d | %.2f | %.2f | %.2f |\n", k, s.queries, s.r1, s.r5, s.miou)
        }
        return out
    }
}
