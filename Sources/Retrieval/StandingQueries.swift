// Standing queries as a post-commit stage: after each window of a stream is committed, the
// stream file's queries and the API's subscriptions for that stream are run against that
// window alone, and every match above its minimum score becomes a `match` event.
import Foundation
import SightlineCore
import Store

/// A query a stream file declares (`[[queries]]`).
public struct StandingQuery: Sendable, Equatable {
    /// The query text.
    public var text: String
    /// Matches scoring below this raise no event.
    public var minScore: Double

    /// A standing query for `text`.
    public init(text: String, minScore: Double) {
        self.text = text
        self.minScore = minScore
    }
}

/// Matches one stream's standing queries against each committed window.
public struct StandingQueryMatcher: WindowSink {
    public let name = "standing_queries"
    let streamId: String
    let queries: [StandingQuery]
    let store: Store
    let ranking: TextRanking

    /// The matcher of `streamId` for its file's `queries` and the API's subscriptions in `store`.
    public init(streamId: String, queries: [StandingQuery], store: Store) {
        self.streamId = streamId
        self.queries = queries
        self.store = store
        self.ranking = TextRanking(store: store)
    }

    public func windowCommitted(_ window: CommittedWindow) async throws {
        for event in try matches(window) { try store.appendEvent(event) }
    }

    /// The `match` events of `window`, without storing them. Reads the store (subscriptions,
    /// the window's evidence), so inside the window's own write transaction — where the
    /// daemon calls it, so that a window and its events are committed together — it sees
    /// the window being written.
    public func matches(_ window: CommittedWindow) throws -> [Event] {
        let record = window.record
        guard record.evidence.contains(where: { $0.text != nil }) else { return [] }
        var all: [(query: StandingQuery, subscription: Int64?)] = queries.map { ($0, nil) }
        all += try store.subscriptions()
            .filter { $0.streams.isEmpty || $0.streams.contains(streamId) }
            .map { (StandingQuery(text: $0.text, minScore: $0.minScore), $0.id) }
        var events: [Event] = []
        for (q, subscription) in all {
            let hits = (try? ranking.moments(MomentQuery(text: q.text, streams: [streamId], fromMs: record.startMs,
                                                          toMs: record.endMs, limit: 1))) ?? []
            guard let hit = hits.first, hit.startMs == record.startMs, hit.score >= q.minScore else { continue }
            let match = QueryMatch(query: q.text, stream: streamId, startMs: record.startMs, endMs: record.endMs,
                                   score: hit.score, evidence: hit.evidence.map(\.text))
            events.append(Event(streamId: streamId, atMs: window.committedMs, subscriptionId: subscription, payload: .match(match)))
        }
        return events
    }
}
