// Fused ranking: every signal a window holds (what was said, what was written, labels,
// people, faces, motion, exact words), compared with the query in one vector space
// (all-MiniLM-L6-v2), spread over time by attention, normalised per stream, fused with
// fitted weights, and cut into moments. docs/FUSION.md has the formulas; in short, per
// stream and signal m:
//   s_j      the query's similarity to window j (absent where the window has no such signal)
//   a_i      = Σ_j α_ij·max(0, s_j − s₀),  α = softmax over {null slot (logit s₀/τ)} ∪
//              {j : |t_i − t_j| ≤ 3λ_m} of (s_j/τ − |t_i − t_j|/λ_m)
//   z_i      = (a_i − median(a)) / max(1.4826·MAD(a), σ_min)   over the stream's windows
//   f_i      = bias + Σ_m w_m·z_i,m
// Moments are runs of windows with f ≥ 0 (gaps of at most one window), scored by their
// best window, after temporal non-maximum suppression. Most windows carry no signal above
// its floor, so a and f are computed only near windows that do; the one dense pass is the
// similarity itself (an int8 dot product per text row, a few multiply-adds per window).
import Foundation
import SightlineCore
import Store
import Synchronization

/// Moments ranked by every signal of the index, with a one-line answer.
public struct FusionRanking: Sendable {
    public let index: WindowIndex
    let vocabulary: QueryVocabulary
    /// Fallback (and the full-text statistics): ranking by words.
    let text: TextRanking
    /// A window belongs to a moment when its fused score is at least this.
    public static let momentThreshold = 0.0
    /// When fewer than `limit` moments pass it, runs of the other windows at or above this
    /// (a fitted relevance probability of 0.12) follow, ranked by their lower scores.
    public static let weakMomentThreshold = -2.0
    /// Two moments of one stream overlapping by this much (IoU) or more: the lower one goes.
    public static let nmsOverlap = 0.5
    /// Evidence items listed per signal and moment.
    static let itemsPerSignal = 3

    private static let referenceStorage = Atomic<Bool>(false)
    /// When true every stream is scored by the plain reference (`StreamScorer.referenceCandidates`)
    /// instead of the fast path; the two give the same moments (tests and `FusionBench` compare them).
    public static var forceReference: Bool {
        get { referenceStorage.load(ordering: .relaxed) }
        set { referenceStorage.store(newValue, ordering: .relaxed) }
    }

    /// Ranking over `index`, comparing with `vectorizer`'s vectors.
    public init(index: WindowIndex, vectorizer: any TextVectorizer) {
        self.index = index
        self.vocabulary = QueryVocabulary(vectorizer: vectorizer)
        self.text = TextRanking(store: index.store)
    }

    /// The best moments for `query`, best first, at most `query.limit`.
    public func moments(_ query: MomentQuery) throws -> [Moment] {
        try answer(query).moments
    }

    /// A query as the scorer takes it: limits and times clamped, the signals its form picks
    /// when it names none, and its side of every similarity.
    struct Prepared {
        var query: MomentQuery
        var form: QuestionForm
        /// The question without its question words ("when did someone come to the door?" → "someone come to the door").
        var content: String
        var tables: QueryTables
        var signals: [Signal]
    }

    /// `query` prepared for scoring; `cacheVector` keeps the query's vector for the next call
    /// (standing queries ask the same text for every window).
    func prepare(_ query: MomentQuery, cacheVector: Bool = false) throws -> Prepared {
        let form = QuestionForm(question: query.text)
        let content = QuestionForm.content(of: query.text)
        guard !MomentQuery.words(in: query.text).isEmpty else { throw QueryError.emptyQuery(query.text) }
        var q = query
        q.limit = max(1, min(query.limit, MomentQuery.maxLimit))
        q.fromMs = query.fromMs.map { min(max($0, MomentQuery.validTimes.lowerBound), MomentQuery.validTimes.upperBound) }
        q.toMs = query.toMs.map { min(max($0, MomentQuery.validTimes.lowerBound), MomentQuery.validTimes.upperBound) }
        // The form picks the signals when the query does not: said → speech and captions,
        // written → on-screen text (exact words count for both).
        if q.modalities.isEmpty {
            if form == .said { q.modalities = [.speech, .caption] }
            if form == .written { q.modalities = [.ocr] }
        }
        let tables = try self.tables(content.isEmpty && form != .written ? query.text : content,
                                     presence: content.isEmpty && form == .written, q, cacheVector: cacheVector)
        return Prepared(query: q, form: form, content: content, tables: tables, signals: Signal.enabled(q.modalities))
    }

    /// The best moments and the answer line for `query`'s form.
    public func answer(_ query: MomentQuery) throws -> QueryAnswer {
        // The streams first: loading them names their labels, which the query's tables compare with.
        let entries = try index.entries(query.streams)
        let prepared = try prepare(query)
        let (q, form, content, tables, signals) = (prepared.query, prepared.form, prepared.content, prepared.tables, prepared.signals)
        let query = q
        let perStream = StreamResults(count: entries.count)
        DispatchQueue.concurrentPerform(iterations: entries.count) { k in
            let (stream, entry) = entries[k]
            let found = entry.scratch.withLock { scratch in
                entry.signals.withLock { s in
                    StreamScorer(signals: s, tables: tables, enabled: signals, query: query)
                        .candidates(stream: stream, limit: query.limit * 2, scratch: &scratch)
                }
            }
            perStream.set(k, found)
        }
        var all = perStream.all.flatMap { $0 }
        all.sort { $0.score != $1.score ? $0.score > $1.score : $0.startMs > $1.startMs }
        let kept = Self.suppressed(all, limit: q.limit, stream: \.stream) { ($0.startMs, $0.endMs) }
        var moments = try resolve(kept)
        let standsOut = kept.contains { $0.score >= Self.momentThreshold }
        // Nothing stands out (a word on every window of a stream is that stream's median,
        // "motion" on a busy street): the exact words still answer, before the weaker runs.
        if !standsOut, !MomentQuery.words(in: content.isEmpty ? query.text : content).isEmpty {
            var words = query
            words.text = content.isEmpty ? query.text : content
            // Only rows holding every word: full text's any-word fallback would answer a
            // phrase nobody said with the windows that share its "the".
            let wanted = Set(MomentQuery.words(in: words.text))
            let exact = ((try? text.moments(words)) ?? []).filter { m in
                m.evidence.contains { wanted.isSubset(of: Set(MomentQuery.words(in: $0.text))) }
            }
            moments = exact + moments
        }
        // Spans may have moved to their words (and full text joined): suppress again.
        moments = Self.suppressed(moments, limit: q.limit, stream: \.stream) { ($0.startMs, $0.endMs) }
        // The answer line speaks of the moments that stand out when some do.
        let answered = standsOut ? moments.filter { $0.score >= Self.momentThreshold } : moments
        return QueryAnswer(moments: moments, form: form,
                           answer: try answerLine(form: form, moments: answered, candidates: kept, entries: entries, query: q))
    }

    /// How the window [startMs, endMs) of `stream` — its newest, just committed — answers
    /// `text`, for standing queries: the window's fused score f over the stream's windows up
    /// to it (attention reaches back only, the normalisation is the stream's history so far),
    /// with the evidence behind it; nil unless f is at least `momentThreshold` (the window
    /// would be part of a moment). The full-text side counts the stream's newest matches, as a
    /// query over the whole stream does.
    public func windowScore(_ text: String, stream: String, startMs: Int64, endMs: Int64) throws -> (score: Double, moment: Moment)? {
        guard let (_, entry) = try index.entries([stream]).first else { return nil }
        let p = try prepare(MomentQuery(text: text, streams: [stream], limit: 1), cacheVector: true)
        var q = p.query
        q.fromMs = startMs
        q.toMs = endMs
        let found = entry.scratch.withLock { scratch in
            entry.signals.withLock { s in
                StreamScorer(signals: s, tables: p.tables, enabled: p.signals, query: q).candidates(stream: stream, limit: 1, scratch: &scratch)
            }
        }
        guard let best = found.first, best.score >= Self.momentThreshold, let moment = try resolve([best]).first else { return nil }
        return (best.score, moment)
    }

    /// Temporal non-maximum suppression: `items` (best first) without those overlapping a
    /// kept one of the same stream by `nmsOverlap` or more, at most `limit`.
    static func suppressed<T>(_ items: [T], limit: Int, stream: (T) -> String, span: (T) -> (Int64, Int64)) -> [T] {
        var kept: [T] = []
        for item in items where kept.count < limit {
            if kept.contains(where: { stream($0) == stream(item) && iou(span($0), span(item)) >= nmsOverlap }) { continue }
            kept.append(item)
        }
        return kept
    }

    /// Temporal intersection over union of two spans (0 when either is empty).
    static func iou(_ a: (Int64, Int64), _ b: (Int64, Int64)) -> Double {
        let inter = Double(max(0, min(a.1, b.1).subtractingReportingOverflow(max(a.0, b.0)).partialValue))
        let la = Double(a.1) - Double(a.0), lb = Double(b.1) - Double(b.0)
        let union = la + lb - inter
        return union > 0 ? inter / union : 0
    }

    // MARK: - The query's side

    func tables(_ content: String, presence: Bool, _ q: MomentQuery, cacheVector: Bool = false) throws -> QueryTables {
        let vector = try (cacheVector ? vocabulary.vectors([content]) : vocabulary.vectorizer.vectors([content])).first ?? []
        let (codes, scale) = QueryTables.quantize(vector)
        let names = index.labels.names
        let labelVectors = try vocabulary.vectors(names)
        let factTexts = Facts.people + Facts.faces + [Facts.motion]
        let factVectors = try vocabulary.vectors(factTexts)
        let sims = factVectors.map { QueryTables.dot(vector, $0) }
        let peopleSim = Array(sims[0..<Facts.people.count])
        let faceSim = Array(sims[Facts.people.count..<(Facts.people.count + Facts.faces.count)])
        var fullText: [Int64: Double] = [:]
        let words = Array(Set(MomentQuery.words(in: content))).sorted().prefix(MomentQuery.maxWords)
        if !words.isEmpty, !Signal.enabled(q.modalities).filter({ $0 == .fullText }).isEmpty {
            let stats = try index.store.termStatistics(Array(words))
            let total = Double(stats.total)
            for w in words {
                let n = Double(stats.documents[w] ?? 0)
                let idf = log(1 + (total - n + 0.5) / (n + 0.5))
                for id in try index.store.matchingEvidence([w], filter: q, cap: TextRanking.candidateCap) { fullText[id, default: 0] += idf }
            }
        }
        return QueryTables(vector: vector, codes: codes, scale: scale,
                           labelNames: names, labelSim: labelVectors.map { QueryTables.dot(vector, $0) },
                           peopleSim: peopleSim.map { $0 }, faceSim: faceSim, motionSim: sims.last ?? 0,
                           presence: presence, fullText: fullText)
    }

    // MARK: - Evidence items and moments

    /// A count item with where the people (faces) were: the window's detections from the
    /// store, largest first (at most three), the first carrying the count.
    func boxes(for item: Moment.Item, stream: String) -> [Moment.Item] {
        guard item.modality == .person || item.modality == .face,
              let window = try? index.store.timeline(stream: stream, fromMs: item.startMs, toMs: item.endMs, limit: 1).first
        else { return [item] }
        let found = window.evidence.filter { $0.modality == item.modality && $0.region != nil }
            .sorted { ($0.region?.area ?? 0) > ($1.region?.area ?? 0) }.prefix(3)
        guard !found.isEmpty else { return [item] }
        return found.enumerated().map { k, e in
            Moment.Item(modality: item.modality, text: k == 0 ? item.text : (e.text ?? item.modality.rawValue),
                        startMs: e.startMs, endMs: e.endMs, region: e.region)
        }
    }

    /// Candidates → moments: evidence rows read back from the store by id (text, box, span).
    func resolve(_ candidates: [Candidate]) throws -> [Moment] {
        let ids = Array(Set(candidates.flatMap { $0.items.compactMap(\.evidenceId) }))
        let hits = Dictionary(try index.store.evidenceHits(ids, filter: MomentQuery(text: "")).map { ($0.id, $0) },
                              uniquingKeysWith: { a, _ in a })
        return candidates.map { c in
            var m = Moment(stream: c.stream, startMs: c.startMs, endMs: c.endMs, score: c.score, evidence: [])
            var seen = Set<Int64>()
            var said: (start: Int64, end: Int64)? // the leading text rows' span
            for item in c.items {
                if let id = item.evidenceId {
                    guard seen.insert(id).inserted, let h = hits[id] else { continue }
                    m.evidence.append(h.item)
                    if item.leading, h.item.endMs >= h.item.startMs {
                        said = (min(said?.start ?? h.item.startMs, h.item.startMs), max(said?.end ?? h.item.endMs, h.item.endMs))
                    }
                } else if let direct = item.direct {
                    m.evidence += boxes(for: direct, stream: c.stream)
                }
            }
            // A moment led by what was said or written spans those words, not the windows
            // their similarity reached (a sentence of 2.9 s is not the 8 s of windows around it).
            if let said, said.end > said.start { (m.startMs, m.endMs) = (said.start, said.end) }
            return m
        }
    }
}

/// A moment before its evidence rows are read.
struct Candidate: Sendable {
    var stream: String
    var startMs: Int64
    var endMs: Int64
    var score: Double
    /// Evidence, best signal first.
    var items: [PendingItem]
    /// Most people seen in one frame of the moment's windows.
    var people: Int
}

/// An evidence item: a stored row to read back, or one made from the index (a count, a label).
struct PendingItem: Sendable {
    var evidenceId: Int64?
    var direct: Moment.Item?
    /// Belongs to the moment's strongest signal.
    var leading = false
}

/// Per-stream results written from concurrent workers, one slot each.
final class StreamResults: Sendable {
    private let slots: Mutex<[[Candidate]]>
    init(count: Int) { slots = Mutex(Array(repeating: [], count: count)) }
    func set(_ k: Int, _ value: [Candidate]) { slots.withLock { $0[k] = value } }
    var all: [[Candidate]] { slots.withLock { $0 } }
}
