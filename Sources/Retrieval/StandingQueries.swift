// Standing queries: after each window of a stream is committed (inside its transaction), the
// stream file's `[[queries]]` and the API's subscriptions for that stream score that window
// alone through one `WindowQueryScorer` (full text, or full text then fusion where the daemon
// has a text model: `FusedWindowScorer`),
// and a per-(query, stream) `OccurrenceTracker` turns the scores into occurrences with
// hysteresis: exactly one `occurrence_start` and one `occurrence_end` event per occurrence.
//
// The rules (OccurrenceOptions, documented in core): a window is above when its score is at
// least the query's `min_score` and more than the stream's own level for the query (median +
// spread × 1.4826 × MAD of its recent scores outside occurrences, 0 until 10 are known); an occurrence begins when
// `enter_hits` of the last `enter_windows` windows are above and ends after `leave_misses`
// windows in a row are not. Most windows get no score (0) from either scorer, so the level is 0
// and any match that passes `min_score` is above; on a stream where the query holds most of
// the time the level rises to its ordinary scores.
//
// After a restart the open/closed state is rebuilt from the store (the newest occurrence event
// of the query on the stream); the score history and the k-of-n count start empty.
import Foundation
import SightlineCore
import Store
import Synchronization

/// A query a stream file declares (`[[queries]]`).
public struct StandingQuery: Sendable, Equatable {
    /// The query text.
    public var text: String
    /// Windows scoring below this are never above the threshold.
    public var minScore: Double
    /// When its occurrences begin and end.
    public var occurrence: OccurrenceOptions

    /// A standing query for `text`.
    public init(text: String, minScore: Double, occurrence: OccurrenceOptions = OccurrenceOptions()) {
        self.text = text
        self.minScore = minScore
        self.occurrence = occurrence
    }
}

/// How well one window answers a query, and the evidence text behind it.
public struct WindowScore: Sendable, Equatable {
    public var score: Double
    public var evidence: [String]
    public init(score: Double, evidence: [String]) {
        self.score = score
        self.evidence = evidence
    }
}

/// Scores a single committed window of a stream for a query.
public protocol WindowQueryScorer: Sendable {
    /// The score of `window` for `query`; nil when nothing in it bears on the query (counted as 0).
    /// Called inside the window's write transaction: store reads see the window.
    func score(_ query: String, window: CommittedWindow) throws -> WindowScore?
    /// Called once per window, inside its transaction, before its queries are scored.
    func willScore(_ window: CommittedWindow) throws
    /// The transaction of a window this scorer saw did not commit: forget what it learned of it.
    func rolledBack(stream: String)
}

extension WindowQueryScorer {
    public func willScore(_ window: CommittedWindow) throws {}
    public func rolledBack(stream: String) {}
}

/// Today's full-text score: the `TextRanking` score of the best moment whose evidence overlaps
/// the window's span (so an on-screen line still showing, whose stored row an earlier window
/// holds and this one extends, counts for this window too).
public struct FullTextWindowScorer: WindowQueryScorer {
    let ranking: TextRanking

    public init(store: Store) { ranking = TextRanking(store: store) }

    public func score(_ query: String, window: CommittedWindow) throws -> WindowScore? {
        let r = window.record
        guard r.evidence.contains(where: { $0.text != nil }) else { return nil }
        let hits = try ranking.moments(MomentQuery(text: query, streams: [r.streamId], fromMs: r.startMs, toMs: r.endMs, limit: 1))
        guard let hit = hits.first, hit.endMs > r.startMs, hit.startMs < r.endMs else { return nil }
        return WindowScore(score: hit.score, evidence: hit.evidence.map(\.text))
    }
}

/// Full text, then fusion: a window whose evidence holds every word of the query scores as
/// `FullTextWindowScorer` says (so a query that works by its words works as before, on the
/// same scale); any other window counts when fusion puts it in a moment
/// (`FusionRanking.windowScore`: fused score f ≥ 0 over the stream's windows so far),
/// scoring the fitted relevance probability σ(f) = 1 / (1 + e^−f), from 0.5 up. So "a person" on a camera occurs while the people
/// detector sees someone, and "someone talking about the delivery" while the speech says so
/// in other words.
public struct FusedWindowScorer: WindowQueryScorer {
    let words: FullTextWindowScorer
    let fusion: FusionRanking

    public init(fusion: FusionRanking) {
        self.fusion = fusion
        words = FullTextWindowScorer(store: fusion.index.store)
    }

    public func score(_ query: String, window: CommittedWindow) throws -> WindowScore? {
        // Only a match of every word: full text's any-word fallback would count every window
        // whose speech says "the" for "someone at the door".
        let wanted = Set(MomentQuery.words(in: query))
        if let matched = try words.score(query, window: window),
           matched.evidence.contains(where: { wanted.isSubset(of: Set(MomentQuery.words(in: $0))) })
        {
            return matched
        }
        let r = window.record
        guard let (f, moment) = try fusion.windowScore(query, stream: r.streamId, startMs: r.startMs, endMs: r.endMs) else { return nil }
        return WindowScore(score: 1 / (1 + exp(-f)), evidence: moment.evidence.map(\.text))
    }

    /// The index learns of a window after its commit; this runs inside the commit, where the
    /// store already shows the window, so the index reads it now (the sink's call after the
    /// commit then finds nothing new).
    public func willScore(_ window: CommittedWindow) throws {
        try fusion.index.committed(window)
    }

    /// The index read a window that was then not stored: the stream is read again on its next use.
    public func rolledBack(stream: String) {
        fusion.index.evidenceAdded(stream: stream)
    }
}

/// Hysteresis of one standing query on one stream (pure; see the file header).
public struct OccurrenceTracker: Sendable {
    public let query: String
    public let stream: String
    public let minScore: Double
    public let options: OccurrenceOptions
    /// Recent scores outside occurrences, oldest first.
    public private(set) var history: [Double] = []
    /// The last windows while no occurrence is open, oldest first.
    private var recent: [(above: Bool, startMs: Int64, endMs: Int64, score: Double, evidence: [String])] = []
    /// The occurrence in progress.
    public private(set) var open: Occurrence?
    private var misses = 0

    /// A change the latest window made.
    public enum Transition: Sendable, Equatable {
        case start(Occurrence)
        case end(Occurrence)
    }

    /// A tracker with no history; `resuming` an occurrence left open (by a previous run).
    public init(query: String, stream: String, minScore: Double, options: OccurrenceOptions, resuming: Occurrence? = nil) {
        self.query = query
        self.stream = stream
        self.minScore = minScore
        self.options = options
        self.open = resuming
    }

    /// The stream's level for the query: a window must score more than this. Until
    /// `OccurrenceOptions.minHistory` scores are known it is 0 (a full-text query's level
    /// anyway; a scorer that scores every window may see one occurrence begin while its
    /// level warms up, which ends once the level is known).
    public var level: Double {
        guard history.count >= OccurrenceOptions.minHistory else { return 0 }
        let median = Self.median(history)
        let mad = Self.median(history.map { abs($0 - median) })
        return median + options.spread * 1.4826 * mad
    }

    /// The score a window must reach: at least `minScore` and more than `level`.
    public var threshold: Double { max(minScore, level) }

    /// Takes the score of the next window [startMs, endMs); returns the occurrence that began or ended.
    public mutating func update(_ score: WindowScore?, startMs: Int64, endMs: Int64) -> Transition? {
        let s = score?.score ?? 0
        let level = self.level
        let above = score != nil && s.isFinite && s >= minScore && s > level
        // Scores outside occurrences make the level; while it warms up, every score does (so
        // an occurrence open from the start, or from before a restart, cannot hold it back).
        let warming = history.count < OccurrenceOptions.minHistory
        if s.isFinite && (open == nil || warming) {
            history.append(s)
            if history.count > options.historyWindows { history.removeFirst(history.count - options.historyWindows) }
        }
        if var o = open {
            if above {
                misses = 0
                o.endMs = max(o.endMs, endMs)
                o.windows += 1
                if s > o.score {
                    o.score = s
                    o.evidence = score?.evidence ?? []
                }
                open = o
                return nil
            }
            misses += 1
            guard misses >= max(1, options.leaveMisses) else { return nil }
            open = nil
            misses = 0
            recent = []
            o.keyFrame = nil
            return .end(o)
        }
        recent.append((above, startMs, endMs, s, score?.evidence ?? []))
        if recent.count > max(1, options.enterWindows) { recent.removeFirst(recent.count - max(1, options.enterWindows)) }
        let hits = recent.filter(\.above)
        guard hits.count >= max(1, options.enterHits), let first = hits.first,
              let best = hits.max(by: { $0.score < $1.score }) else { return nil }
        let o = Occurrence(query: query, stream: stream, startMs: first.startMs, endMs: endMs, score: best.score,
                           threshold: max(minScore, level), windows: hits.count, evidence: best.evidence)
        open = o
        misses = 0
        recent = []
        return .start(o)
    }

    static func median(_ xs: [Double]) -> Double {
        let s = xs.sorted()
        guard !s.isEmpty else { return 0 }
        return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
    }
}

/// Runs one stream's standing queries against each committed window.
public final class StandingQueryMatcher: Sendable {
    public let name = "standing_queries"
    let streamId: String
    let queries: [StandingQuery]
    let store: Store
    let scorer: any WindowQueryScorer

    /// A query's identity: the file's query by its text, or an API subscription by id.
    enum Key: Hashable {
        case file(Int, String)
        case subscription(Int64)
    }

    private let trackers = Mutex<[Key: OccurrenceTracker]>([:])
    /// The trackers as they were before the latest `matches`, for `rolledBack`.
    private let beforeLatest = Mutex<[Key: OccurrenceTracker]?>(nil)

    /// The matcher of `streamId` for its file's `queries` and the API's subscriptions in `store`,
    /// scoring with `scorer` (full text when nil).
    public init(streamId: String, queries: [StandingQuery], store: Store, scorer: (any WindowQueryScorer)? = nil) {
        self.streamId = streamId
        self.queries = queries
        self.store = store
        self.scorer = scorer ?? FullTextWindowScorer(store: store)
    }

    /// The window whose events `matches` gave was not stored (its transaction failed): the
    /// scorer forgets it and the occurrence trackers go back to where they were before it, so
    /// an occurrence whose start event was lost with the window can still start (and one whose
    /// end was lost still ends).
    public func rolledBack() {
        scorer.rolledBack(stream: streamId)
        if let before = beforeLatest.withLock({ b in defer { b = nil }; return b }) {
            trackers.withLock { $0 = before }
        }
    }

    /// The occurrence events `window` raises, without storing them. Reads the store (the
    /// subscriptions, the window's evidence, an open occurrence after a restart), so inside the
    /// window's own write transaction — where the daemon calls it, so that a window and its
    /// events are committed together — it sees the window being written. `keyFrame` makes the
    /// key frame of an occurrence that begins, for queries that ask for one.
    public func matches(_ window: CommittedWindow, keyFrame: (@Sendable () -> KeyFrame?)? = nil) throws -> [Event] {
        var all: [(key: Key, query: StandingQuery, subscription: Int64?)] = queries.enumerated().map { (.file($0.offset, $0.element.text), $0.element, nil) }
        all += try store.subscriptions()
            .filter { $0.streams.isEmpty || $0.streams.contains(streamId) }
            .map { (.subscription($0.id), StandingQuery(text: $0.text, minScore: $0.minScore, occurrence: $0.occurrence), $0.id) }
        let known = Set(all.map(\.key))
        let before = trackers.withLock { t in
            for k in t.keys where !known.contains(k) { t[k] = nil }
            return t
        }
        beforeLatest.withLock { $0 = before }
        guard !all.isEmpty else { return [] }
        // Once per window, not per query. Should it fail, the scorer goes on without what it
        // would have learned (a fused score of this window is then none), as a query it
        // cannot score never occurs.
        try? scorer.willScore(window)
        var events: [Event] = []
        for (key, q, subscription) in all {
            // A query that cannot be scored (no word to search for) never occurs.
            let score = try? scorer.score(q.text, window: window)
            let existing = trackers.withLock { $0[key] }
            var tracker: OccurrenceTracker
            if let existing { tracker = existing } else {
                var resumed: Occurrence? = nil
                if let e = try store.latestOccurrenceEvent(stream: streamId, query: q.text, subscriptionId: subscription),
                   case let .occurrenceStart(o) = e.payload
                {
                    resumed = o
                }
                tracker = OccurrenceTracker(query: q.text, stream: streamId, minScore: q.minScore, options: q.occurrence, resuming: resumed)
            }
            let transition = tracker.update(score ?? nil, startMs: window.record.startMs, endMs: window.record.endMs)
            trackers.withLock { $0[key] = tracker }
            switch transition {
            case .start(var o)?:
                if q.occurrence.keyFrame { o.keyFrame = keyFrame?() }
                events.append(Event(streamId: streamId, atMs: window.committedMs, subscriptionId: subscription, payload: .occurrenceStart(o)))
            case .end(let o)?:
                events.append(Event(streamId: streamId, atMs: window.committedMs, subscriptionId: subscription, payload: .occurrenceEnd(o)))
            case nil:
                break
            }
        }
        return events
    }
}
