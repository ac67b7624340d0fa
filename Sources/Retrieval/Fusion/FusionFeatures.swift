// The fused ranking's per-window features for fitting its weights (Scripts/fit-fusion): for
// each window of the streams a query covers, every signal's normalised value z_m exactly
// as `FusionRanking` fuses it (docs/FUSION.md, steps 1-5).
import Foundation
import Kernels
import SightlineCore
import Synchronization

/// One window's features for one query.
public struct WindowFeatures: Sendable, Equatable, Codable {
    public var stream: String
    public var startMs: Int64
    public var endMs: Int64
    /// z per signal name: speech, ocr, caption, label, people, faces, motion, full_text.
    public var values: [String: Double]

    enum CodingKeys: String, CodingKey {
        case stream, values
        case startMs = "start_ms", endMs = "end_ms"
    }
}

extension Signal {
    /// The signal's name in features and in FusionWeights.swift.
    var name: String {
        switch self {
        case .speech: "speech"
        case .ocr: "ocr"
        case .caption: "caption"
        case .label: "label"
        case .people: "people"
        case .faces: "faces"
        case .motion: "motion"
        case .fullText: "full_text"
        }
    }
}

extension FusionRanking {
    /// Every window's features for `query` (in its streams and time range), in time order per stream.
    public func features(_ query: MomentQuery) throws -> [WindowFeatures] {
        let p = try prepare(query)
        var out: [WindowFeatures] = []
        for (stream, entry) in try index.entries(p.query.streams) {
            out += entry.signals.withLock { s in
                StreamScorer(signals: s, tables: p.tables, enabled: p.signals, query: p.query).features(stream: stream)
            }
        }
        return out
    }
}

extension StreamScorer {
    func features(stream: String) -> [WindowFeatures] {
        let n = signals.count
        guard n > 0 else { return [] }
        let lo = query.fromMs.map { signals.firstWindow(endingAfter: $0) } ?? 0
        let hi = query.toMs.map { signals.firstWindow(startingAtOrAfter: $0) } ?? n
        guard lo < hi else { return [] }
        var z = [[Double]](repeating: [Double](repeating: 0, count: Signal.allCases.count), count: hi - lo)
        var similarity = [Float](repeating: 0, count: n)
        var present = [Bool](repeating: false, count: n)
        var detail = [Int32](repeating: -1, count: n)
        let dots = textDots()
        for signal in enabled {
            // A signal no window has is 0 everywhere (the median of all-zero history).
            guard let (values, median, sigma) = normalised(signal, dots, &similarity, &present, &detail) else { continue }
            for i in lo..<hi { z[i - lo][signal.rawValue] = -median / sigma }
            for (i, a, _) in values where (lo..<hi).contains(i) { z[i - lo][signal.rawValue] = (a - median) / sigma }
        }
        return (lo..<hi).map { i in
            WindowFeatures(stream: stream, startMs: signals.startMs[i], endMs: signals.endMs[i],
                           values: Dictionary(uniqueKeysWithValues: Signal.allCases.map { ($0.name, z[i - lo][$0.rawValue]) }))
        }
    }
}
