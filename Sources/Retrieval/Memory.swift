// The daemon's memory as the API sees it: answers to queries, timelines, transcripts,
// events and standing queries. The server depends on this protocol, not on the store, so
// an answer that combines full-text, vectors and fusion has one home (here), and every call
// runs off Swift's cooperative pool: SQLite blocks a thread on disk and on the write lock,
// and the cooperative pool has one thread per core.
import Foundation
import SightlineCore
import Store

/// What the API reads from (and the few things it writes to) the daemon's memory.
public protocol Memory: Sendable {
    /// The best moments for a query.
    func moments(_ query: MomentQuery) async throws -> [Moment]
    /// Windows of `stream` overlapping [fromMs, toMs), oldest first, with evidence.
    func timeline(stream: String, fromMs: Int64?, toMs: Int64?, limit: Int) async throws -> [TimelineWindow]
    /// Speech evidence of `stream` overlapping [fromMs, toMs), in time order, with words.
    func transcript(stream: String, fromMs: Int64?, toMs: Int64?) async throws -> [Evidence]
    /// The first `limit` of those (the API asks for one more than it returns, to know whether it cut).
    func transcript(stream: String, fromMs: Int64?, toMs: Int64?, limit: Int) async throws -> [Evidence]
    /// Events after `afterId`, oldest first.
    func events(afterId: Int64, limit: Int) async throws -> [Event]
    /// Standing queries added through the API.
    func subscriptions() async throws -> [Subscription]
    /// Adds a standing query; returns its id.
    func addSubscription(text: String, streams: [String], minScore: Double, nowMs: Int64) async throws -> Int64
    /// Adds a standing query with its occurrence options; returns its id.
    func addSubscription(text: String, streams: [String], minScore: Double, occurrence: OccurrenceOptions,
                         nowMs: Int64) async throws -> Int64
    /// Removes a standing query; false when there was none with that id.
    func removeSubscription(id: Int64) async throws -> Bool
    /// Windows stored for `stream`.
    func windowCount(stream: String) async throws -> Int
    /// The store's size on disk in bytes (database and WAL).
    func diskBytes() async -> Int64
}

extension Memory {
    /// A memory that keeps no occurrence options stores the subscription with the defaults.
    public func addSubscription(text: String, streams: [String], minScore: Double, occurrence: OccurrenceOptions,
                                nowMs: Int64) async throws -> Int64
    {
        try await addSubscription(text: text, streams: streams, minScore: minScore, nowMs: nowMs)
    }

    public func transcript(stream: String, fromMs: Int64?, toMs: Int64?, limit: Int) async throws -> [Evidence] {
        Array(try await transcript(stream: stream, fromMs: fromMs, toMs: toMs).prefix(max(0, limit)))
    }
}

/// The embedded memory: the SQLite store, ranked by `TextRanking`, on the storage executor.
public struct StoreMemory: Memory {
    public let store: Store
    let ranking: TextRanking
    let executor: BlockingExecutor

    /// Memory over `store`, running its calls on `executor`.
    public init(store: Store, executor: BlockingExecutor = .storage) {
        self.store = store
        self.ranking = TextRanking(store: store)
        self.executor = executor
    }

    public func moments(_ query: MomentQuery) async throws -> [Moment] {
        try await executor.run { try ranking.moments(query) }
    }

    public func timeline(stream: String, fromMs: Int64?, toMs: Int64?, limit: Int) async throws -> [TimelineWindow] {
        try await executor.run { try store.timeline(stream: stream, fromMs: fromMs, toMs: toMs, limit: limit) }
    }

    public func transcript(stream: String, fromMs: Int64?, toMs: Int64?) async throws -> [Evidence] {
        try await executor.run { try store.transcript(stream: stream, fromMs: fromMs, toMs: toMs) }
    }

    public func transcript(stream: String, fromMs: Int64?, toMs: Int64?, limit: Int) async throws -> [Evidence] {
        try await executor.run { try store.transcript(stream: stream, fromMs: fromMs, toMs: toMs, limit: limit) }
    }

    public func events(afterId: Int64, limit: Int) async throws -> [Event] {
        try await executor.run { try store.events(afterId: afterId, limit: limit) }
    }

    public func subscriptions() async throws -> [Subscription] {
        try await executor.run { try store.subscriptions() }
    }

    public func addSubscription(text: String, streams: [String], minScore: Double, nowMs: Int64) async throws -> Int64 {
        try await executor.run { try store.addSubscription(text: text, streams: streams, minScore: minScore, nowMs: nowMs) }
    }

    public func addSubscription(text: String, streams: [String], minScore: Double, occurrence: OccurrenceOptions,
                                nowMs: Int64) async throws -> Int64
    {
        try await executor.run {
            try store.addSubscription(text: text, streams: streams, minScore: minScore, nowMs: nowMs, occurrence: occurrence)
        }
    }

    public func removeSubscription(id: Int64) async throws -> Bool {
        try await executor.run { try store.removeSubscription(id: id) }
    }

    public func windowCount(stream: String) async throws -> Int {
        try await executor.run { try store.windowCount(stream: stream) }
    }

    public func diskBytes() async -> Int64 {
        await executor.run { store.diskBytes() }
    }
}
