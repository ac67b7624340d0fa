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
    /// All words must match; when nothing matches all of them, any word may.
    ///
    /// Ranking. A window's score is the sum of the IDF weights of the query words its
    /// evidence contains (BM25 without its term-frequency and length factors, which change
    /// little on short segments and labels); ties go to the most recent. Computing full
    /// bm25() in SQLite costs ~4 µs per matching row — 20-30 ms for a common word over a
    /// million windows — while this needs only the matching row ids (~1 ms) and one
    /// vocabulary lookup per word. Matches per word are capped to the newest
    /// `candidateCap` rows, which only affects words more common than that.
    public func moments(_ query: MomentQuery) throws -> [Moment] {
        let tokens = Array(Set(FTSQuery.tokens(query.text))).sorted()
        guard !tokens.isEmpty else { throw StoreError.emptyQuery(query.text) }
        let limit = max(1, min(query.limit, MomentQuery.maxLimit))
        var result = try moments(tokens, query, limit: limit, allWords: true)
        if result.isEmpty && tokens.count > 1 {
            result = try moments(tokens, query, limit: limit, allWords: false)
        }
        return result
    }

    /// Matches scored per query are capped to the newest `candidateCap` evidence rows per
    /// word: a word found in more rows than that is ranked among its most recent occurrences.
    public static let candidateCap = 4000

    /// Stream and time filters become FTS5 column filters (index lookups) up to this many
    /// one-hour buckets; wider ranges are filtered after the match.
    static let maxHourBuckets: Int64 = 168
    static let hourMs: Int64 = 3_600_000
    /// Evidence may start this long before the window range it overlaps (the longest window).
    static let maxEvidenceMs: Int64 = 60_000

    static func streamToken(_ id: String) -> String {
        "s" + id.utf8.map { String(format: "%02X", $0) }.joined()
    }

    /// The FTS5 expression for `words` (quoted) with the query's stream and time filters.
    static func expression(_ words: String, _ q: MomentQuery) -> String {
        var expr = "text : (\(words))"
        if !q.streams.isEmpty {
            expr += " AND stream : (" + q.streams.map { FTSQuery.quote(streamToken($0)) }.joined(separator: " OR ") + ")"
        }
        if let from = q.fromMs, let to = q.toMs, to > from {
            let first = (from - maxEvidenceMs) / hourMs, last = (to - 1) / hourMs
            if last - first < maxHourBuckets {
                expr += " AND hour : (" + (first...last).map { FTSQuery.quote("h\($0)") }.joined(separator: " OR ") + ")"
            }
        }
        return expr
    }

    private func moments(_ tokens: [String], _ q: MomentQuery, limit: Int, allWords: Bool) throws -> [Moment] {
        let needed = limit * 8
        return try read("query '\(q.text)'") { db in
            // IDF per word from the vocabulary; N approximated by the largest evidence id.
            let totalIds = try Int64.fetchOne(db, sql: "SELECT MAX(id) FROM evidence") ?? 0
            let total = Double(totalIds)
            var idf: [String: Double] = [:]
            for t in tokens {
                let cached = documentFrequencies.withLock { c -> Int64? in
                    if totalIds > c.total + c.total / 4 || totalIds < c.total { c = (totalIds, [:]) }
                    return c.counts[t]
                }
                let docs = try cached ?? {
                    let n = try Int64.fetchOne(db, sql: "SELECT doc FROM evidence_vocab WHERE term = ?", arguments: [t]) ?? 0
                    documentFrequencies.withLock { $0.counts[t] = n }
                    return n
                }()
                let n = Double(docs)
                idf[t] = log(1 + (total - n + 0.5) / (n + 0.5))
            }
            // Candidate rows with their scores.
            var score: [Int64: Double] = [:]
            let idsSQL = "SELECT rowid FROM evidence_fts WHERE evidence_fts MATCH ? ORDER BY rowid DESC LIMIT ?"
            if allWords {
                let weight = tokens.reduce(0) { $0 + idf[$1]! }
                let expr = Self.expression(FTSQuery.all(tokens), q)
                for id in try Int64.fetchAll(db, sql: idsSQL, arguments: [expr, Self.candidateCap]) { score[id] = weight }
            } else {
                for t in tokens {
                    let expr = Self.expression(FTSQuery.quote(t), q)
                    for id in try Int64.fetchAll(db, sql: idsSQL, arguments: [expr, Self.candidateCap]) {
                        score[id, default: 0] += idf[t]!
                    }
                }
            }
            // Best first, newest first among equals; the exact filters run on the joined rows,
            // in batches until enough windows are found or the candidates run out.
            let ranked = score.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key > $1.key }
            var rows: [Candidate] = []
            var windows = Set<Int64>()
            var offset = 0
            while offset < ranked.count, windows.count < limit {
                let batch = ranked[offset..<min(ranked.count, offset + needed)]
                offset += batch.count
                rows += try Self.join(db, batch.map { ($0.key, $0.value) }, q)
                windows = Set(rows.map(\.windowId))
            }
            return Self.group(rows, limit: limit)
        }
    }

    /// Evidence and window rows for scored candidate ids, in the given order, with the
    /// query's exact filters applied.
    static func join(_ db: Database, _ scored: [(Int64, Double)], _ q: MomentQuery) throws -> [Candidate] {
        guard !scored.isEmpty else { return [] }
        var sql = """
            SELECT e.id, e.window_id, e.stream_id, e.modality, e.start_ms, e.end_ms, e.text,
                   w.start_ms AS w_start, w.end_ms AS w_end
            FROM evidence e JOIN windows w ON w.id = e.window_id
            WHERE e.id IN (\(scored.map { String($0.0) }.joined(separator: ",")))
            """
        // The unary '+' keeps SQLite from answering the filters with the (stream, modality,
        // start) index — a scan of the whole stream — instead of the rowid lookups of the ids.
        var args: [(any DatabaseValueConvertible)?] = []
        if !q.streams.isEmpty {
            sql += " AND +e.stream_id IN (\(Array(repeating: "?", count: q.streams.count).joined(separator: ",")))"
            args += q.streams as [(any DatabaseValueConvertible)?]
        }
        if !q.modalities.isEmpty {
            sql += " AND +e.modality IN (\(Array(repeating: "?", count: q.modalities.count).joined(separator: ",")))"
            args += q.modalities as [(any DatabaseValueConvertible)?]
        }
        if let from = q.fromMs { sql += " AND +e.end_ms > ?"; args.append(from) }
        if let to = q.toMs { sql += " AND +e.start_ms < ?"; args.append(to) }
        var byId: [Int64: Candidate] = [:]
        for row in try Row.fetchAll(db, sql: sql, arguments: StatementArguments(args)) {
            let id: Int64 = row["id"]
            byId[id] = Candidate(windowId: row["window_id"], stream: row["stream_id"], score: 0,
                                 windowStart: row["w_start"], windowEnd: row["w_end"],
                                 item: Moment.Item(modality: row["modality"], text: row["text"],
                                                   startMs: row["start_ms"], endMs: row["end_ms"]))
        }
        return scored.compactMap { id, s in byId[id].map { var c = $0; c.score = s; return c } }
    }

    struct Candidate: Sendable {
        var windowId: Int64
        var stream: String
        /// Higher is better.
        var score: Double
        var windowStart: Int64
        var windowEnd: Int64
        var item: Moment.Item
    }

    /// Best-ranked rows first → one moment per window, in order of its best row.
    static func group(_ rows: [Candidate], limit: Int) -> [Moment] {
        var order: [Int64] = []
        var byWindow: [Int64: Moment] = [:]
        for r in rows {
            if byWindow[r.windowId] != nil {
                byWindow[r.windowId]!.evidence.append(r.item)
                // A moment covers its evidence: speech that began in an earlier window is
                // stored with the window where it ended.
                byWindow[r.windowId]!.startMs = min(byWindow[r.windowId]!.startMs, r.item.startMs)
                byWindow[r.windowId]!.endMs = max(byWindow[r.windowId]!.endMs, r.item.endMs)
            } else if order.count < limit {
                order.append(r.windowId)
                byWindow[r.windowId] = Moment(stream: r.stream, startMs: min(r.windowStart, r.item.startMs),
                                              endMs: max(r.windowEnd, r.item.endMs), score: r.score, evidence: [r.item])
            }
        }
        return order.map { byWindow[$0]! }
    }
}

extension Store {

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
    /// The unindexed alternative to `moments`: scan all evidence text with LIKE and rank
    /// by occurrences (what one writes without a text index). Only for the query
    /// benchmark's side-by-side comparison.
    public func likeScan(word: String, limit: Int) throws -> [Int64] {
        try read("like scan") { db in
            try Int64.fetchAll(db, sql: """
                SELECT window_id FROM evidence WHERE text LIKE ?
                ORDER BY (length(text) - length(replace(text, ?, ''))) DESC, id DESC LIMIT ?
                """, arguments: ["%\(word)%", word, limit])
        }
    }
}
