// The embedded evidence store: one SQLite database in WAL mode (GRDB DatabasePool), with
// versioned migrations. Writers commit one window per transaction, so a crash (even
// SIGKILL) loses at most the window in flight and never leaves a half-written window;
// readers never block the writer. Text of every modality is indexed by one FTS5 table.
//
// Tables (see Schema in `migrator`):
//   streams        one row per configured stream
//   windows        one row per stream per window: [start_ms, end_ms), sizes, committed_ms
//   evidence       one row per piece of evidence: speech segments, OCR lines, labels,
//                  captions and measurements; `modality` tells which (new modalities add rows)
//   words          word times of speech evidence
//   embeddings     fp16 vectors attached to evidence
//   evidence_fts   FTS5 over evidence.text, kept in sync by triggers. Contentless (the text
//                  lives in `evidence`), with two extra indexed columns so that stream and
//                  time filters are index lookups inside the MATCH instead of scans after it:
//                  stream = 's' || hex(stream_id) (one token whatever the id's punctuation),
//                  hour   = 'h' || start_ms / 3 600 000 (one-hour buckets).
//   events         stream up/down and standing-query matches
//   subscriptions  standing queries
import Foundation
import GRDB
import SightlineCore
import Synchronization

public final class Store: Sendable {
    public let path: String
    let pool: DatabasePool
    /// Largest write-ahead log kept after a checkpoint (SQLite truncates it to this): without
    /// it the WAL stays at its largest size ever, e.g. after a big retention purge.
    public static let walSizeLimit: Int64 = 64 << 20
    /// Document frequency of query words (fts5vocab counts them by walking the word's whole
    /// posting list: ~10 ms for a common word over a million windows), with the evidence
    /// count they were read at; dropped when the store has grown by a quarter since.
    let documentFrequencies = Mutex<(total: Int64, counts: [String: Int64])>((0, [:]))

    /// Opens (creating if needed) the database at `path` and migrates it to the current schema.
    public init(path: String) throws {
        self.path = path
        var config = Configuration()
        // NORMAL is durable against process crashes in WAL mode (only power loss can drop the
        // last transactions), and it avoids an fsync per window.
        config.prepareDatabase { db in
            try db.execute(sql: "PRAGMA synchronous = NORMAL")
            try db.execute(sql: "PRAGMA journal_size_limit = \(Store.walSizeLimit)")
        }
        config.busyMode = .timeout(5)
        do {
            pool = try DatabasePool(path: path, configuration: config)
        } catch {
            throw StoreError.cannotOpen(path: path, reason: "\(error)")
        }
        try Self.checkFTS5(pool, path: path)
        do {
            try Self.migrator.migrate(pool)
        } catch {
            throw StoreError.cannotOpen(path: path, reason: "migration failed: \(error)")
        }
    }

    private static func checkFTS5(_ pool: DatabasePool, path: String) throws {
        let ok = (try? pool.read { db in
            try Bool.fetchOne(db, sql: "SELECT sqlite_compileoption_used('ENABLE_FTS5')")
        }) ?? false
        if ok != true { throw StoreError.fts5Unavailable(path: path) }
    }

    static var migrator: DatabaseMigrator {
        var m = DatabaseMigrator()
        m.registerMigration("v1: streams, windows, evidence, fts, events, subscriptions") { db in
            try db.execute(sql: """
            CREATE TABLE streams (
                id TEXT PRIMARY KEY NOT NULL,
                source TEXT NOT NULL DEFAULT '',
                created_ms INTEGER NOT NULL
            );
            CREATE TABLE windows (
                id INTEGER PRIMARY KEY,
                stream_id TEXT NOT NULL REFERENCES streams(id) ON DELETE CASCADE,
                start_ms INTEGER NOT NULL,
                end_ms INTEGER NOT NULL,
                frame_count INTEGER NOT NULL DEFAULT 0,
                audio_samples INTEGER NOT NULL DEFAULT 0,
                bytes INTEGER NOT NULL DEFAULT 0,
                committed_ms INTEGER NOT NULL
            );
            CREATE INDEX windows_stream_start ON windows(stream_id, start_ms);
            CREATE TABLE evidence (
                id INTEGER PRIMARY KEY,
                window_id INTEGER NOT NULL REFERENCES windows(id) ON DELETE CASCADE,
                stream_id TEXT NOT NULL,
                modality TEXT NOT NULL,
                start_ms INTEGER NOT NULL,
                end_ms INTEGER NOT NULL,
                text TEXT,
                confidence REAL,
                value REAL
            );
            CREATE INDEX evidence_window ON evidence(window_id);
            CREATE INDEX evidence_stream_modality_start ON evidence(stream_id, modality, start_ms);
            CREATE TABLE words (
                evidence_id INTEGER NOT NULL REFERENCES evidence(id) ON DELETE CASCADE,
                idx INTEGER NOT NULL,
                text TEXT NOT NULL,
                start_ms INTEGER NOT NULL,
                end_ms INTEGER NOT NULL,
                probability REAL,
                PRIMARY KEY (evidence_id, idx)
            ) WITHOUT ROWID;
            CREATE TABLE embeddings (
                evidence_id INTEGER PRIMARY KEY REFERENCES evidence(id) ON DELETE CASCADE,
                model TEXT NOT NULL,
                dim INTEGER NOT NULL,
                vector BLOB NOT NULL
            );
            CREATE VIRTUAL TABLE evidence_fts USING fts5(
                text, stream, hour, content='', tokenize='unicode61 remove_diacritics 2'
            );
            CREATE TRIGGER evidence_fts_insert AFTER INSERT ON evidence WHEN new.text IS NOT NULL BEGIN
                INSERT INTO evidence_fts(rowid, text, stream, hour)
                VALUES (new.id, new.text, 's' || hex(new.stream_id), 'h' || (new.start_ms / 3600000));
            END;
            CREATE TRIGGER evidence_fts_delete AFTER DELETE ON evidence WHEN old.text IS NOT NULL BEGIN
                INSERT INTO evidence_fts(evidence_fts, rowid, text, stream, hour)
                VALUES ('delete', old.id, old.text, 's' || hex(old.stream_id), 'h' || (old.start_ms / 3600000));
            END;
            CREATE TABLE events (
                id INTEGER PRIMARY KEY,
                stream_id TEXT,
                kind TEXT NOT NULL,
                at_ms INTEGER NOT NULL,
                subscription_id INTEGER,
                payload TEXT NOT NULL DEFAULT '{}'
            );
            CREATE INDEX events_at ON events(at_ms);
            CREATE TABLE subscriptions (
                id INTEGER PRIMARY KEY,
                text TEXT NOT NULL,
                streams TEXT NOT NULL DEFAULT '[]',
                min_score REAL NOT NULL DEFAULT 0,
                created_ms INTEGER NOT NULL
            );
            """)
        }
        m.registerMigration("v2: term statistics for ranking") { db in
            // Document frequency per indexed term, read by the ranking (see Store+Query).
            try db.execute(sql: "CREATE VIRTUAL TABLE evidence_vocab USING fts5vocab(evidence_fts, 'row')")
        }
        m.registerMigration("v3: where in the picture evidence was seen") { db in
            // Fractions of the frame (Region); NULL for audio and whole-frame evidence.
            try db.execute(sql: """
                ALTER TABLE evidence ADD COLUMN x0 REAL;
                ALTER TABLE evidence ADD COLUMN y0 REAL;
                ALTER TABLE evidence ADD COLUMN x1 REAL;
                ALTER TABLE evidence ADD COLUMN y1 REAL;
                """)
        }
        m.registerMigration("v4: occurrence options of subscriptions") { db in
            // OccurrenceOptions as JSON (hysteresis and key frames of standing queries).
            try db.execute(sql: "ALTER TABLE subscriptions ADD COLUMN options TEXT NOT NULL DEFAULT '{}'")
        }
        return m
    }

    /// Bytes the database occupies on disk: main file plus write-ahead log.
    public func diskBytes() -> Int64 {
        let fm = FileManager.default
        var total: Int64 = 0
        for suffix in ["", "-wal"] {
            if let attrs = try? fm.attributesOfItem(atPath: path + suffix),
               let size = attrs[.size] as? NSNumber
            {
                total += size.int64Value
            }
        }
        return total
    }

    /// Runs a GRDB block and turns its errors into `StoreError.sqlFailed` naming the operation.
    /// Inside a write of this store on this thread (a window's standing queries run inside
    /// the window's transaction, see `append(_:committedMs:events:)`) the read goes through
    /// the writer's connection: it sees the rows being written, and a pool read from inside
    /// a write would not.
    func read<T: Sendable>(_ operation: String, _ body: @Sendable (Database) throws -> T) throws -> T {
        do {
            if let db = currentWriter { return try body(db) }
            return try pool.read(body)
        } catch let e as StoreError { throw e } catch {
            throw StoreError.sqlFailed(operation: operation, reason: "\(error)")
        }
    }

    func write<T: Sendable>(_ operation: String, _ body: @Sendable (Database) throws -> T) throws -> T {
        let key = writerKey
        do {
            return try pool.write { db in
                let locals = Thread.current.threadDictionary
                locals[key] = db
                defer { locals.removeObject(forKey: key) }
                return try body(db)
            }
        } catch let e as StoreError { throw e } catch {
            throw StoreError.sqlFailed(operation: operation, reason: "\(error)")
        }
    }

    /// Thread-dictionary key of this store's open write transaction.
    private var writerKey: String { "sightline.store.writer.\(ObjectIdentifier(self).hashValue)" }

    /// The connection of this store's write transaction running on this thread, if any.
    private var currentWriter: Database? { Thread.current.threadDictionary[writerKey] as? Database }
}

extension Store {
    /// Bytes of the database file holding data: its pages minus the free ones (pages freed by
    /// deletes stay in the file and are reused by later writes, so this is what the data
    /// occupies on disk). Size-based retention measures streams against it.
    public func usedBytes() throws -> Int64 {
        try read("used bytes") { db in
            let pages = try Int64.fetchOne(db, sql: "PRAGMA page_count") ?? 0
            let free = try Int64.fetchOne(db, sql: "PRAGMA freelist_count") ?? 0
            let size = try Int64.fetchOne(db, sql: "PRAGMA page_size") ?? 0
            return max(0, pages - free) * size
        }
    }

    /// Copies the write-ahead log into the database and truncates it (to zero when no reader
    /// is in the middle of it; otherwise it is kept within `walSizeLimit`). Run after
    /// retention, which can write a large WAL. Returns the WAL frames left uncopied.
    @discardableResult
    public func checkpoint() throws -> Int {
        do {
            return try pool.writeWithoutTransaction { db in
                let (log, copied) = try db.checkpoint(.truncate)
                return max(0, log - copied)
            }
        } catch {
            throw StoreError.sqlFailed(operation: "checkpoint", reason: "\(error)")
        }
    }

    /// SQLite's `PRAGMA integrity_check`: "ok" when the file is sound.
    public func integrityCheck() throws -> String {
        try read("integrity check") { db in try String.fetchOne(db, sql: "PRAGMA integrity_check") ?? "no answer" }
    }
}
