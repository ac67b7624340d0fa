// Writing: streams, windows with all their evidence and the events they raise (one
// transaction per window), events and subscriptions.
import Foundation
import GRDB
import SightlineCore

extension Store {
    /// Registers a stream (or updates its source). Idempotent.
    public func upsertStream(id: String, source: String, nowMs: Int64) throws {
        try write("upsert stream \(id)") { db in
            try db.execute(sql: """
                INSERT INTO streams(id, source, created_ms) VALUES (?, ?, ?)
                ON CONFLICT(id) DO UPDATE SET source = excluded.source
                """, arguments: [id, source, nowMs])
        }
    }

    /// Commits one window and its evidence atomically; returns the window's row id.
    @discardableResult
    public func append(_ record: WindowRecord, committedMs: Int64) throws -> Int64 {
        guard record.endMs >= record.startMs else {
            throw StoreError.invalidRecord("window of stream '\(record.streamId)' ends (\(record.endMs) ms) before it starts (\(record.startMs) ms)")
        }
        return try write("append window \(record.streamId)@\(record.startMs)") { db in
            try Self.insert(record, committedMs: committedMs, db)
        }
    }

    /// Commits one window, its evidence and the events `events` derives from it (given the
    /// window's row id, with the window already visible to reads on this thread) in one
    /// transaction: a crash leaves both or neither. An error thrown by `events` rolls the
    /// whole window back.
    @discardableResult
    public func append(_ record: WindowRecord, committedMs: Int64,
                       events: @escaping @Sendable (_ windowId: Int64) throws -> [Event]) throws -> Int64
    {
        guard record.endMs >= record.startMs else {
            throw StoreError.invalidRecord("window of stream '\(record.streamId)' ends (\(record.endMs) ms) before it starts (\(record.startMs) ms)")
        }
        return try write("append window \(record.streamId)@\(record.startMs) with its events") { db in
            let windowId = try Self.insert(record, committedMs: committedMs, db)
            for event in try events(windowId) {
                _ = try Self.insertEvent(event, payload: try EventCoding.encodePayload(event.payload), db)
            }
            return windowId
        }
    }

    /// Adds evidence that was only known after its window was committed (a caption when its
    /// segment closes) to the stored window `windowId` of `streamId`, in one transaction. The
    /// evidence's own span may reach before the window. Fails when there is no such window.
    public func addEvidence(_ evidence: [Evidence], toWindow windowId: Int64, streamId: String) throws {
        if let bad = evidence.first(where: { $0.endMs < $0.startMs }) {
            throw StoreError.invalidRecord("\(bad.modality) evidence of stream '\(streamId)' ends (\(bad.endMs) ms) before it starts (\(bad.startMs) ms)")
        }
        guard !evidence.isEmpty else { return }
        try write("add evidence to window \(windowId)") { db in
            guard try Int64.fetchOne(db, sql: "SELECT 1 FROM windows WHERE id = ? AND stream_id = ?", arguments: [windowId, streamId]) != nil else {
                throw StoreError.invalidRecord("no window \(windowId) of stream '\(streamId)' to add evidence to")
            }
            try Self.insertEvidence(evidence, windowId: windowId, streamId: streamId, db)
            let bytes = Self.approximateBytes(WindowRecord(streamId: streamId, startMs: 0, endMs: 0, evidence: evidence)) - Self.windowRowBytes
            try db.execute(sql: "UPDATE windows SET bytes = bytes + ? WHERE id = ?", arguments: [bytes, windowId])
        }
    }

    /// Commits many windows in one transaction (bulk import, benchmarks): all or none.
    public func append(contentsOf records: [WindowRecord], committedMs: Int64) throws {
        if let bad = records.first(where: { $0.endMs < $0.startMs }) {
            throw StoreError.invalidRecord("window of stream '\(bad.streamId)' ends (\(bad.endMs) ms) before it starts (\(bad.startMs) ms)")
        }
        try write("append \(records.count) windows") { db in
            for r in records { _ = try Self.insert(r, committedMs: committedMs, db) }
        }
    }

    private static func insert(_ record: WindowRecord, committedMs: Int64, _ db: Database) throws -> Int64 {
        // Streams are normally registered by the supervisor; a record for an unknown
        // stream registers it rather than failing the foreign key.
        try db.execute(sql: "INSERT OR IGNORE INTO streams(id, source, created_ms) VALUES (?, '', ?)",
                       arguments: [record.streamId, committedMs])
        try db.execute(sql: """
            INSERT INTO windows(stream_id, start_ms, end_ms, frame_count, audio_samples, bytes, committed_ms)
            VALUES (?, ?, ?, ?, ?, ?, ?)
            """, arguments: [record.streamId, record.startMs, record.endMs, record.frameCount,
                             record.audioSamples, Self.approximateBytes(record), committedMs])
        let windowId = db.lastInsertedRowID
        try insertEvidence(record.evidence, windowId: windowId, streamId: record.streamId, db)
        return windowId
    }

    private static func insertEvidence(_ evidence: [Evidence], windowId: Int64, streamId: String, _ db: Database) throws {
        for ev in evidence {
            if ev.continues, let text = ev.text {
                // The same observation as a stored row: extend that row instead of adding one.
                try db.execute(sql: """
                    UPDATE evidence SET end_ms = max(end_ms, ?), confidence = max(coalesce(confidence, 0), coalesce(?, 0))
                    WHERE id = (SELECT id FROM evidence
                                WHERE stream_id = ? AND modality = ? AND text = ? AND end_ms >= ? AND start_ms <= ?
                                ORDER BY start_ms DESC LIMIT 1)
                    """, arguments: [ev.endMs, ev.confidence, streamId, ev.modality.rawValue, text,
                                     ev.startMs - Evidence.continuationGapMs, ev.startMs])
                if db.changesCount > 0 { continue }
            }
            try db.execute(sql: """
                INSERT INTO evidence(window_id, stream_id, modality, start_ms, end_ms, text, confidence, value, x0, y0, x1, y1)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """, arguments: [windowId, streamId, ev.modality.rawValue, ev.startMs, ev.endMs,
                                 ev.text, ev.confidence, ev.value, ev.region?.x0, ev.region?.y0, ev.region?.x1, ev.region?.y1])
            let evidenceId = db.lastInsertedRowID
            for (i, w) in ev.words.enumerated() {
                try db.execute(sql: "INSERT INTO words(evidence_id, idx, text, start_ms, end_ms, probability) VALUES (?, ?, ?, ?, ?, ?)",
                               arguments: [evidenceId, i, w.word, w.startMs, w.endMs, w.probability])
            }
            if let emb = ev.embedding {
                try db.execute(sql: "INSERT INTO embeddings(evidence_id, model, dim, vector) VALUES (?, ?, ?, ?)",
                               arguments: [evidenceId, emb.model, emb.vector.count, Float16Blob.encode(emb.vector)])
            }
        }
    }

    /// The window row's own share of `approximateBytes`.
    static let windowRowBytes: Int64 = 64

    /// Size a window adds to the database, used by size-based retention. Counts payload
    /// bytes plus a fixed per-row overhead measured on SQLite's record format (~48 bytes a
    /// row including index entries); it is an estimate, and retention treats it as one.
    static func approximateBytes(_ r: WindowRecord) -> Int64 {
        var bytes: Int64 = windowRowBytes
        for ev in r.evidence {
            bytes += 48 + Int64(ev.text?.utf8.count ?? 0) * 2 // text and its FTS entry
            if ev.region != nil { bytes += 32 }
            bytes += Int64(ev.words.count) * 40 + ev.words.reduce(0) { $0 + Int64($1.word.utf8.count) }
            if let e = ev.embedding { bytes += 24 + Int64(e.vector.count) * 2 }
        }
        return bytes
    }

    // MARK: - Events and subscriptions

    @discardableResult
    public func appendEvent(_ event: Event) throws -> Int64 {
        let payload = try EventCoding.encodePayload(event.payload)
        return try write("append event \(event.kind.rawValue)") { db in try Self.insertEvent(event, payload: payload, db) }
    }

    private static func insertEvent(_ event: Event, payload: String, _ db: Database) throws -> Int64 {
        try db.execute(sql: "INSERT INTO events(stream_id, kind, at_ms, subscription_id, payload) VALUES (?, ?, ?, ?, ?)",
                       arguments: [event.streamId, event.kind.rawValue, event.atMs, event.subscriptionId, payload])
        return db.lastInsertedRowID
    }

    public func addSubscription(text: String, streams: [String], minScore: Double, nowMs: Int64,
                                occurrence: OccurrenceOptions = OccurrenceOptions()) throws -> Int64
    {
        let streamsJSON = String(decoding: try JSONEncoder().encode(streams), as: UTF8.self)
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        let optionsJSON = String(decoding: try encoder.encode(occurrence), as: UTF8.self)
        return try write("add subscription") { db in
            try db.execute(sql: "INSERT INTO subscriptions(text, streams, min_score, created_ms, options) VALUES (?, ?, ?, ?, ?)",
                           arguments: [text, streamsJSON, minScore, nowMs, optionsJSON])
            return db.lastInsertedRowID
        }
    }

    /// Returns true when a subscription with that id existed.
    public func removeSubscription(id: Int64) throws -> Bool {
        try write("remove subscription \(id)") { db in
            try db.execute(sql: "DELETE FROM subscriptions WHERE id = ?", arguments: [id])
            return db.changesCount > 0
        }
    }
}
