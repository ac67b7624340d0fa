// Reading: the full-text primitives ranking is built from (Retrieval ranks; the store only
// finds and counts), timelines, transcripts, events and per-stream counts.
import SpokenWords
import Foundation
import GRDB
import SightlineCore

/// One evidence row found by a full-text match, with its window's span.
public struct EvidenceHit: Sendable, Equatable {
    /// The evidence row's id (its FTS rowid).
    public var id: Int64
    /// The window it belongs to.
    public var windowId: Int64
    public var stream: String
    public var windowStartMs: Int64
    public var windowEndMs: Int64
    /// The evidence itself.
    public var item: Moment.Item
}

extension Store {
    /// Statistics of the full-text index for IDF weights: the number of evidence rows
    /// (approximated by the largest id; deletions only shrink it) and, per word, the number
    /// of rows containing it. fts5vocab counts a word by walking its whole posting list
    /// (~10 ms for a common word over a million windows), so counts are cached with the row
    /// count they were read at and dropped when the store has grown by a quarter since.
    public func termStatistics(_ words: [String]) throws -> (total: Int64, documents: [String: Int64]) {
        try read("term statistics") { db in
            let total = try Int64.fetchOne(db, sql: "SELECT MAX(id) FROM evidence") ?? 0
            var documents: [String: Int64] = [:]
            for w in words {
                let cached = documentFrequencies.withLock { c -> Int64? in
                    if total > c.total + c.total / 4 || total < c.total { c = (total, [:]) }
                    return c.counts[w]
                }
                documents[w] = try cached ?? {
                    let n = try Int64.fetchOne(db, sql: "SELECT doc FROM evidence_vocab WHERE term = ?", arguments: [w]) ?? 0
                    documentFrequencies.withLock { $0.counts[w] = n }
                    return n
                }()
            }
            return (total, documents)
        }
    }

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
            // Saturating: callers may pass any Int64 (the API bounds its input, library callers need not).
            let first = from.subtractingReportingOverflow(maxEvidenceMs).overflow ? Int64.min / hourMs : (from - maxEvidenceMs) / hourMs
            let last = (to - 1) / hourMs
            let (span, overflow) = last.subtractingReportingOverflow(first)
            if !overflow, span < maxHourBuckets {
                expr += " AND hour : (" + (first...last).map { FTSQuery.quote("h\($0)") }.joined(separator: " OR ") + ")"
            }
        }
        return expr
    }

    /// Ids of the newest `cap` evidence rows whose text holds every word of `words` (or, with
    /// `anyWord`, at least one), narrowed by `filter`'s streams and hours; newest first.
    public func matchingEvidence(_ words: [String], anyWord: Bool = false, filter: MomentQuery, cap: Int) throws -> [Int64] {
        guard !words.isEmpty else { return [] }
        let expr = Self.expression(anyWord ? FTSQuery.any(words) : FTSQuery.all(words), filter)
        return try read("match") { db in
            try Int64.fetchAll(db, sql: "SELECT rowid FROM evidence_fts WHERE evidence_fts MATCH ? ORDER BY rowid DESC LIMIT ?",
                               arguments: [expr, cap])
        }
    }

    /// The evidence rows `ids` with their windows, in no particular order, keeping only those
    /// that pass `filter`'s exact stream, modality and time filters.
    public func evidenceHits(_ ids: [Int64], filter q: MomentQuery) throws -> [EvidenceHit] {
        guard !ids.isEmpty else { return [] }
        var sql = """
            SELECT e.id, e.window_id, e.stream_id, e.modality, e.start_ms, e.end_ms, e.text, e.x0, e.y0, e.x1, e.y1,
                   w.start_ms AS w_start, w.end_ms AS w_end
            FROM evidence e JOIN windows w ON w.id = e.window_id
            WHERE e.id IN (\(ids.map { String($0) }.joined(separator: ",")))
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
            args += q.modalities.map(\.rawValue) as [(any DatabaseValueConvertible)?]
        }
        if let from = q.fromMs { sql += " AND +e.end_ms > ?"; args.append(from) }
        if let to = q.toMs { sql += " AND +e.start_ms < ?"; args.append(to) }
        let arguments = StatementArguments(args)
        let statement = sql
        return try read("evidence hits") { db in
            try Row.fetchAll(db, sql: statement, arguments: arguments).map { row in
                EvidenceHit(id: row["id"], windowId: row["window_id"], stream: row["stream_id"],
                            windowStartMs: row["w_start"], windowEndMs: row["w_end"],
                            item: Moment.Item(modality: Modality(rawValue: row["modality"]), text: row["text"],
                                              startMs: row["start_ms"], endMs: row["end_ms"], region: Self.region(row)))
            }
        }
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
                    SELECT modality, start_ms, end_ms, text, confidence, value, x0, y0, x1, y1 FROM evidence
                    WHERE window_id = ? ORDER BY id
                    """, arguments: [id]).map { r in
                    Evidence(modality: Modality(rawValue: r["modality"]), startMs: r["start_ms"], endMs: r["end_ms"],
                             text: r["text"], confidence: r["confidence"], value: r["value"], region: Self.region(r))
                }
                return TimelineWindow(id: id, streamId: stream, startMs: w["start_ms"], endMs: w["end_ms"], evidence: ev)
            }
        }
    }

    /// The region of an evidence row that has its four box columns.
    static func region(_ r: Row) -> Region? {
        guard let x0: Double = r["x0"], let y0: Double = r["y0"], let x1: Double = r["x1"], let y1: Double = r["y1"] else { return nil }
        return Region(x0: x0, y0: y0, x1: x1, y1: y1)
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
                    TranscriptWord(startMs: w["start_ms"], endMs: w["end_ms"], word: w["text"], probability: w["probability"])
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

    /// Events with id greater than `afterId`, oldest first. A row whose kind or payload this
    /// build cannot read (written by a newer version) is skipped.
    public func events(afterId: Int64, limit: Int) throws -> [Event] {
        try read("events") { db in
            try Row.fetchAll(db, sql: "SELECT * FROM events WHERE id > ? ORDER BY id LIMIT ?",
                             arguments: [afterId, limit]).compactMap { r in
                guard let kind = EventKind(rawValue: r["kind"]),
                      let payload = try? EventCoding.decodePayload(kind: kind, json: r["payload"]) else { return nil }
                return Event(id: r["id"], streamId: r["stream_id"], atMs: r["at_ms"],
                             subscriptionId: r["subscription_id"], payload: payload)
            }
        }
    }

    public func subscriptions() throws -> [Subscription] {
        try read("subscriptions") { db in
            try Row.fetchAll(db, sql: "SELECT * FROM subscriptions ORDER BY id").map { r in
                let json: String = r["streams"]
                let streams = (try? JSONDecoder().decode([String].self, from: Data(json.utf8))) ?? []
                let options: String = r["options"]
                let occurrence = (try? JSONDecoder().decode(OccurrenceOptions.self, from: Data(options.utf8))) ?? OccurrenceOptions()
                return Subscription(id: r["id"], text: r["text"], streams: streams,
                                    minScore: r["min_score"], createdMs: r["created_ms"], occurrence: occurrence)
            }
        }
    }

    /// The newest `occurrence_start` or `occurrence_end` event of `query` on `stream` (of the
    /// API subscription `subscriptionId`, or of the stream file's query when nil): whether an
    /// occurrence is still open, after a restart.
    public func latestOccurrenceEvent(stream: String, query: String, subscriptionId: Int64?) throws -> Event? {
        try read("latest occurrence event") { db in
            let r = try Row.fetchOne(db, sql: """
                SELECT * FROM events
                WHERE stream_id = ? AND kind IN (?, ?) AND subscription_id IS ? AND json_extract(payload, '$.query') = ?
                ORDER BY id DESC LIMIT 1
                """, arguments: [stream, EventKind.occurrenceStart.rawValue, EventKind.occurrenceEnd.rawValue,
                                  subscriptionId, query])
            guard let r, let kind = EventKind(rawValue: r["kind"]),
                  let payload = try? EventCoding.decodePayload(kind: kind, json: r["payload"]) else { return nil }
            return Event(id: r["id"], streamId: r["stream_id"], atMs: r["at_ms"], subscriptionId: r["subscription_id"], payload: payload)
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

    /// The order of `windowRanges`: by start time, or by commit (row id).
    public enum WindowOrder: Sendable { case start, commit }

    /// Time ranges of every window of a stream, oldest first or in commit order (for
    /// recovery checks and tests).
    public func windowRanges(stream: String, order: WindowOrder = .start) throws -> [ClosedRange<Int64>] {
        let sql = "SELECT start_ms, end_ms FROM windows WHERE stream_id = ? ORDER BY " + (order == .start ? "start_ms" : "id")
        return try read("window ranges") { db in
            try Row.fetchAll(db, sql: sql, arguments: [stream]).map { r in
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
