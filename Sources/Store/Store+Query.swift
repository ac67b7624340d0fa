// Reading: moment queries (FTS5 over all evidence text, ranked by bm25), timelines,
// transcripts, events and per-stream counts.
import Foundation
import GRDB

/// One window with its evidence, as the timeline endpoint returns it.
public struct TimelineWindow: Sendable, Equatable {
    public var id: Int64
    public var streamId: String
    public var startMs: Int64
    public var endMs: Int64
    public var evidence: [Evidence]
}

/// Per-stream totals.
public struct StreamTotals: Sendable, Equatable {
    public var windows: Int
    public var lastEndMs: Int64?
    public var bytes: Int64
}

extension Store {
    /// Windows ranked by full-text match of `query.text` against every modality's text.
    /// All words must match; when nothing matches all of them, any word may (ranked by bm25).
    public func moments(_ query: MomentQuery) throws -> [Moment] {
        let tokens = FTSQuery.tokens(query.text)
        guard !tokens.isEmpty else { throw StoreError.emptyQuery(query.text) }
        let limit = max(1, min(query.limit, MomentQuery.maxLimit))
        var result = try moments(match: FTSQuery.all(tokens), query, limit: limit)
        if result.isEmpty && tokens.count > 1 {
            result = try moments(match: FTSQuery.any(tokens), query, limit: limit)
        }
        return result
    }

    private func moments(match: String, _ q: MomentQuery, limit: Int) throws -> [Moment] {
        var sql = """
            SELECT e.window_id, e.stream_id, e.modality, e.start_ms, e.end_ms, e.text,
                   bm25(evidence_fts) AS rank, w.start_ms AS w_start, w.end_ms AS w_end
            FROM evidence_fts
            JOIN evidence e ON e.id = evidence_fts.rowid
            JOIN windows w ON w.id = e.window_id
            WHERE evidence_fts MATCH ?
            """
        var args: [(any DatabaseValueConvertible)?] = [match]
        if !q.streams.isEmpty {
            sql += " AND e.stream_id IN (\(Array(repeating: "?", count: q.streams.count).joined(separator: ",")))"
            args += q.streams as [(any DatabaseValueConvertible)?]
        }
        if !q.modalities.isEmpty {
            sql += " AND e.modality IN (\(Array(repeating: "?", count: q.modalities.count).joined(separator: ",")))"
            args += q.modalities as [(any DatabaseValueConvertible)?]
        }
        if let from = q.fromMs { sql += " AND e.end_ms > ?"; args.append(from) }
        if let to = q.toMs { sql += " AND e.start_ms < ?"; args.append(to) }
        // Several evidence rows can hit one window; fetch enough candidates to fill `limit` windows.
        sql += " ORDER BY rank LIMIT ?"
        args.append(limit * 8)
        let arguments = StatementArguments(args)
        let statement = sql
        return try read("query '\(q.text)'") { db in
            var order: [Int64] = []
            var byWindow: [Int64: Moment] = [:]
            for row in try Row.fetchAll(db, sql: statement, arguments: arguments) {
                let windowId: Int64 = row["window_id"]
                let item = Moment.Item(modality: row["modality"], text: row["text"],
                                       startMs: row["start_ms"], endMs: row["end_ms"])
                if byWindow[windowId] != nil {
                    byWindow[windowId]!.evidence.append(item)
                } else {
                    guard order.count < limit else { continue }
                    order.append(windowId)
                    let rank: Double = row["rank"]
                    byWindow[windowId] = Moment(stream: row["stream_id"], startMs: row["w_start"],
                                                endMs: row["w_end"], score: -rank, evidence: [item])
                }
            }
            return order.map { byWindow[$0]! }
        }
    }

    /// Windows of one stream that overlap [fromMs, toMs), oldest first, with their evidence.
    public func timeline(stream: String, fromMs: Int64?, toMs: Int64?, limit: Int) throws -> [TimelineWindow] {
        try read("timeline \(stream)") { db in
            let windows = try Row.fetchAll(db, sql: """
                SELECT id, start_ms, end_ms FROM windows
                WHERE stream_id = ? AND end_ms > ? AND start_ms < ?
                ORDER BY start_ms LIMIT ?
                """, arguments: [stream, fromMs ?? Int64.min, toMs ?? Int64.max, limit])
            return try windows.map { w in
                let id: Int64 = w["id"]
                let ev = try Row.fetchAll(db, sql: """
                    SELECT modality, start_ms, end_ms, text, confidence, value FROM evidence
                    WHERE window_id = ? ORDER BY id
                    """, arguments: [id]).map { r in
                    Evidence(modality: Modality(rawValue: r["modality"]), startMs: r["start_ms"], endMs: r["end_ms"],
                             text: r["text"], confidence: r["confidence"], value: r["value"])
                }
                return TimelineWindow(id: id, streamId: stream, startMs: w["start_ms"], endMs: w["end_ms"], evidence: ev)
            }
        }
    }

    /// Speech (and caption) cues of one stream overlapping [fromMs, toMs), in time order, with words.
    public func transcript(stream: String, fromMs: Int64?, toMs: Int64?,
                           modalities: [Modality] = [.speech], limit: Int = 100_000) throws -> [Evidence]
    {
        let mods = modalities.map(\.rawValue)
        let placeholders = Array(repeating: "?", count: mods.count).joined(separator: ",")
        var args: [(any DatabaseValueConvertible)?] = [stream]
        args += mods as [(any DatabaseValueConvertible)?]
        args += [fromMs ?? Int64.min, toMs ?? Int64.max, limit]
        let arguments = StatementArguments(args)
        return try read("transcript \(stream)") { db in
            try Row.fetchAll(db, sql: """
                SELECT id, modality, start_ms, end_ms, text, confidence FROM evidence
                WHERE stream_id = ? AND modality IN (\(placeholders)) AND end_ms > ? AND start_ms < ?
                  AND text IS NOT NULL
                ORDER BY start_ms, id LIMIT ?
                """, arguments: arguments).map { r in
                let id: Int64 = r["id"]
                let words = try Row.fetchAll(db, sql: "SELECT text, start_ms, end_ms, probability FROM words WHERE evidence_id = ? ORDER BY idx",
                                             arguments: [id]).map { w in
                    Word(text: w["text"], startMs: w["start_ms"], endMs: w["end_ms"], probability: w["probability"])
                }
                return Evidence(modality: Modality(rawValue: r["modality"]), startMs: r["start_ms"], endMs: r["end_ms"],
                                text: r["text"], confidence: r["confidence"], words: words)
            }
        }
    }

    /// The embedding stored for an evidence row, decoded from fp16.
    public func embeddings(stream: String, modality: Modality) throws -> [Embedding] {
        try read("embeddings \(stream)") { db in
            try Row.fetchAll(db, sql: """
                SELECT m.model, m.vector FROM embeddings m JOIN evidence e ON e.id = m.evidence_id
                WHERE e.stream_id = ? AND e.modality = ? ORDER BY e.id
                """, arguments: [stream, modality.rawValue]).compactMap { r in
                let data: Data = r["vector"]
                return Float16Blob.decode(data).map { Embedding(model: r["model"], vector: $0) }
            }
        }
    }

    /// Events with id greater than `afterId`, oldest first.
    public func events(afterId: Int64, limit: Int) throws -> [StoredEvent] {
        try read("events") { db in
            try Row.fetchAll(db, sql: "SELECT * FROM events WHERE id > ? ORDER BY id LIMIT ?",
                             arguments: [afterId, limit]).map { r in
                StoredEvent(id: r["id"], streamId: r["stream_id"], kind: r["kind"], atMs: r["at_ms"],
                            subscriptionId: r["subscription_id"], payload: r["payload"])
            }
        }
    }

    public func subscriptions() throws -> [Subscription] {
        try read("subscriptions") { db in
            try Row.fetchAll(db, sql: "SELECT * FROM subscriptions ORDER BY id").map { r in
                let json: String = r["streams"]
                let streams = (try? JSONDecoder().decode([String].self, from: Data(json.utf8))) ?? []
                return Subscription(id: r["id"], text: r["text"], streams: streams,
                                    minScore: r["min_score"], createdMs: r["created_ms"])
            }
        }
    }

    /// Window counts, last window end and estimated bytes of every stream that has windows.
    public func totals() throws -> [String: StreamTotals] {
        try read("totals") { db in
            var out: [String: StreamTotals] = [:]
            for r in try Row.fetchAll(db, sql: """
                SELECT stream_id, COUNT(*) AS n, MAX(end_ms) AS last, SUM(bytes) AS bytes
                FROM windows GROUP BY stream_id
                """) {
                out[r["stream_id"]] = StreamTotals(windows: r["n"], lastEndMs: r["last"], bytes: r["bytes"] ?? 0)
            }
            return out
        }
    }

    /// Number of windows of one stream (or all streams).
    public func windowCount(stream: String? = nil) throws -> Int {
        try read("count windows") { db in
            if let stream {
                return try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM windows WHERE stream_id = ?", arguments: [stream]) ?? 0
            }
            return try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM windows") ?? 0
        }
    }

    /// Time ranges of every window of a stream, oldest first (for recovery checks and tests).
    public func windowRanges(stream: String) throws -> [ClosedRange<Int64>] {
        try read("window ranges") { db in
            try Row.fetchAll(db, sql: "SELECT start_ms, end_ms FROM windows WHERE stream_id = ? ORDER BY start_ms",
                             arguments: [stream]).map { r in
                let s: Int64 = r["start_ms"]
                let e: Int64 = r["end_ms"]
                return s...e
            }
        }
    }
}

extension Store {
    /// The unindexed alternative to `moments`: a LIKE scan of all evidence text for one
    /// word. Only for the query benchmark's side-by-side comparison.
    public func likeScan(word: String, limit: Int) throws -> [Int64] {
        try read("like scan") { db in
            try Int64.fetchAll(db, sql: "SELECT window_id FROM evidence WHERE text LIKE ? LIMIT ?",
                               arguments: ["%\(word)%", limit])
        }
    }
}
