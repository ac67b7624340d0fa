// Reading a stream's windows with their evidence in time order, as one streaming query:
// what an in-memory index of per-window signals is built from (Retrieval's fusion index).
// Rows come through a cursor, so a stream of a million windows is read without holding
// its rows in memory.
import Foundation
import GRDB
import SightlineCore

/// One window with one of its evidence rows (or none), as `windowSignals` streams them.
public struct WindowSignalRow: Sendable {
    /// The window's row id and span.
    public var windowId: Int64
    public var windowStartMs: Int64
    public var windowEndMs: Int64
    /// The evidence row, nil for a window that has none of the modalities asked for.
    public var evidence: StoredEvidence?

    public init(windowId: Int64, windowStartMs: Int64, windowEndMs: Int64, evidence: StoredEvidence?) {
        self.windowId = windowId
        self.windowStartMs = windowStartMs
        self.windowEndMs = windowEndMs
        self.evidence = evidence
    }
}

/// An evidence row with its id and, when it has one, its embedding.
public struct StoredEvidence: Sendable {
    /// The evidence row's id.
    public var id: Int64
    public var modality: Modality
    public var startMs: Int64
    public var endMs: Int64
    public var text: String?
    public var confidence: Double?
    public var value: Double?
    /// The vector's model and its fp16 bytes (decode with `Float16Blob`), when stored.
    public var embeddingModel: String?
    public var embedding: Data?

    public init(id: Int64, modality: Modality, startMs: Int64, endMs: Int64, text: String? = nil, confidence: Double? = nil,
                value: Double? = nil, embeddingModel: String? = nil, embedding: Data? = nil)
    {
        self.id = id
        self.modality = modality
        self.startMs = startMs
        self.endMs = endMs
        self.text = text
        self.confidence = confidence
        self.value = value
        self.embeddingModel = embeddingModel
        self.embedding = embedding
    }
}

/// The first window of a stream (by start time).
public struct WindowMark: Sendable, Equatable {
    public var id: Int64
    public var startMs: Int64
}

extension Store {
    /// Every window of `stream` starting at or after `fromStartMs` (all when nil), oldest
    /// first (by start, then id), each followed by its evidence of `modalities` in id order:
    /// one `body` call per (window, evidence) pair, one call with nil evidence for a window
    /// without any. Runs in one read transaction, so it sees one consistent store.
    public func windowSignals(stream: String, fromStartMs: Int64? = nil, modalities: [Modality],
                              _ body: (WindowSignalRow) throws -> Void) throws
    {
        let mods = modalities.map(\.rawValue)
        let placeholders = mods.isEmpty ? "NULL" : Array(repeating: "?", count: mods.count).joined(separator: ",")
        var args: [(any DatabaseValueConvertible)?] = mods as [(any DatabaseValueConvertible)?]
        args += [stream, fromStartMs ?? Int64.min]
        let arguments = StatementArguments(args)
        // The pool's `read` needs a Sendable closure; the cursor is consumed inside it and
        // `body` is only called there, synchronously.
        try withoutActuallyEscaping(body) { body in
            let box = UncheckedBody(body: body)
            try read("window signals \(stream)") { db in
                let rows = try Row.fetchCursor(db, sql: """
                    SELECT w.id AS wid, w.start_ms AS ws, w.end_ms AS we,
                           e.id AS eid, e.modality, e.start_ms, e.end_ms, e.text, e.confidence, e.value,
                           m.model, m.vector
                    FROM windows w
                    LEFT JOIN evidence e ON e.window_id = w.id AND e.modality IN (\(placeholders))
                    LEFT JOIN embeddings m ON m.evidence_id = e.id
                    WHERE w.stream_id = ? AND w.start_ms >= ?
                    ORDER BY w.start_ms, w.id, e.id
                    """, arguments: arguments)
                while let r = try rows.next() {
                    var ev: StoredEvidence?
                    if let eid: Int64 = r["eid"] {
                        ev = StoredEvidence(id: eid, modality: Modality(rawValue: r["modality"]), startMs: r["start_ms"],
                                            endMs: r["end_ms"], text: r["text"], confidence: r["confidence"],
                                            value: r["value"], embeddingModel: r["model"], embedding: r["vector"])
                    }
                    try box.body(WindowSignalRow(windowId: r["wid"], windowStartMs: r["ws"], windowEndMs: r["we"], evidence: ev))
                }
            }
        }
    }

    /// The oldest window of `stream` (by start), nil when it has none: one index lookup, so
    /// an index of the stream can tell cheaply whether retention deleted windows it holds.
    public func oldestWindow(stream: String) throws -> WindowMark? {
        try read("oldest window \(stream)") { db in
            try Row.fetchOne(db, sql: "SELECT id, start_ms FROM windows WHERE stream_id = ? ORDER BY start_ms, id LIMIT 1",
                             arguments: [stream]).map { WindowMark(id: $0["id"], startMs: $0["start_ms"]) }
        }
    }

    /// The ids of every registered stream (a stream gets a row when it is configured or its
    /// first window is stored): a small table, unlike a scan of the windows' stream ids.
    public func streamIds() throws -> [String] {
        try read("stream ids") { db in try String.fetchAll(db, sql: "SELECT id FROM streams ORDER BY id") }
    }
}

/// A non-Sendable callback carried into a synchronous read that calls it on the same thread.
private struct UncheckedBody: @unchecked Sendable {
    let body: (WindowSignalRow) throws -> Void
}
