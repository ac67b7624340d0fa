// Full-text ranking of windows for a query, over the store's match and count primitives.
//
// A window's score is the sum of the IDF weights of the query words its evidence contains
// (BM25 without its term-frequency and length factors, which change little on short
// segments and labels); ties go to the most recent. Full bm25() in SQLite costs ~4 µs per
// matching row — 20-30 ms for a common word over a million windows — while this needs only
// the matching row ids (~1 ms) and one vocabulary count per word. Matches per word are
// capped to the newest `candidateCap` rows, which only affects words more common than that.
// All words must match; when nothing matches all of them, any word may.
import Foundation
import SightlineCore
import Store

/// Why a query cannot be answered as asked.
public enum QueryError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The text has no word to search for.
    case emptyQuery(String)

    public var description: String {
        switch self {
        case let .emptyQuery(text): return "the query '\(text)' has no word to search for; give at least one letter or digit."
        }
    }
}

/// Ranks windows by the words of a query.
public struct TextRanking: Sendable {
    public let store: Store

    /// Matches scored per query are capped to the newest `candidateCap` evidence rows per
    /// word: a word found in more rows than that is ranked among its most recent occurrences.
    public static let candidateCap = 4000

    /// Ranking over `store`.
    public init(store: Store) { self.store = store }

    /// The best windows for `query`, best first, at most `query.limit` (clamped to 1...maxLimit).
    public func moments(_ query: MomentQuery) throws -> [Moment] {
        let words = Array(Set(MomentQuery.words(in: query.text))).sorted()
        guard !words.isEmpty else { throw QueryError.emptyQuery(query.text) }
        let limit = max(1, min(query.limit, MomentQuery.maxLimit))
        let stats = try store.termStatistics(words)
        let total = Double(stats.total)
        var idf: [String: Double] = [:]
        for w in words {
            let n = Double(stats.documents[w] ?? 0)
            idf[w] = log(1 + (total - n + 0.5) / (n + 0.5))
        }
        var result = try rank(allOf: words, idf: idf, query, limit: limit)
        if result.isEmpty && words.count > 1 {
            result = try rank(anyOf: words, idf: idf, query, limit: limit)
        }
        return result
    }

    private func rank(allOf words: [String], idf: [String: Double], _ q: MomentQuery, limit: Int) throws -> [Moment] {
        let weight = words.reduce(0) { $0 + idf[$1, default: 0] }
        var score: [Int64: Double] = [:]
        for id in try store.matchingEvidence(words, filter: q, cap: Self.candidateCap) { score[id] = weight }
        return try group(score, q, limit: limit)
    }

    private func rank(anyOf words: [String], idf: [String: Double], _ q: MomentQuery, limit: Int) throws -> [Moment] {
        var score: [Int64: Double] = [:]
        for w in words {
            for id in try store.matchingEvidence([w], filter: q, cap: Self.candidateCap) {
                score[id, default: 0] += idf[w, default: 0]
            }
        }
        return try group(score, q, limit: limit)
    }

    /// Best first, newest first among equals; the exact filters run on the joined rows, in
    /// batches until enough windows are found or the candidates run out.
    private func group(_ score: [Int64: Double], _ q: MomentQuery, limit: Int) throws -> [Moment] {
        let ranked = score.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key > $1.key }
        let batchSize = limit * 8
        var rows: [(hit: EvidenceHit, score: Double)] = []
        var windows = Set<Int64>()
        var offset = 0
        while offset < ranked.count, windows.count < limit {
            let batch = ranked[offset..<min(ranked.count, offset + batchSize)]
            offset += batch.count
            let hits = Dictionary(uniqueKeysWithValues: try store.evidenceHits(batch.map(\.key), filter: q).map { ($0.id, $0) })
            for (id, s) in batch { if let h = hits[id] { rows.append((h, s)) } }
            windows = Set(rows.map(\.hit.windowId))
        }
        return Self.moments(rows, limit: limit)
    }

    /// Best-ranked rows first → one moment per window, in order of its best row.
    static func moments(_ rows: [(hit: EvidenceHit, score: Double)], limit: Int) -> [Moment] {
        var order: [Int64] = []
        var byWindow: [Int64: Moment] = [:]
        for (h, s) in rows {
            if var m = byWindow[h.windowId] {
                m.evidence.append(h.item)
                // A moment covers its evidence: speech that began in an earlier window is
                // stored with the window where it ended.
                m.startMs = min(m.startMs, h.item.startMs)
                m.endMs = max(m.endMs, h.item.endMs)
                byWindow[h.windowId] = m
            } else if order.count < limit {
                order.append(h.windowId)
                byWindow[h.windowId] = Moment(stream: h.stream, startMs: min(h.windowStartMs, h.item.startMs),
                                              endMs: max(h.windowEndMs, h.item.endMs), score: s, evidence: [h.item])
            }
        }
        return order.compactMap { byWindow[$0] }
    }
}
