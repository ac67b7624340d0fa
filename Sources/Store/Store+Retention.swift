// Retention: per stream, delete windows older than a maximum age and, when the stream's
// size on disk exceeds its budget, the oldest windows until it fits. A stream's size on
// disk is the database's bytes in use (`usedBytes`: pages minus free pages, so indexes, FTS
// and page slack count) split between streams by their estimated bytes. Evidence, words,
// embeddings and FTS entries go with their window (ON DELETE CASCADE + FTS triggers).
// Deletes run in batches so a large purge never holds the write lock for long.
import GRDB
import SightlineCore

public struct RetentionPolicy: Sendable, Equatable {
    /// Windows older than this are deleted; nil keeps them forever. A window is as old as the
    /// later of its end and its commit: a live window's end is its wall-clock time, while a
    /// file's windows carry media time (near 0, "1970" as epoch ms) and are as new as the
    /// moment they were stored.
    public var maxAgeMs: Int64?
    /// Bytes a stream may occupy on disk (its share of the database's used pages); nil is unbounded.
    public var maxBytes: Int64?
    public init(maxAgeMs: Int64? = nil, maxBytes: Int64? = nil) {
        self.maxAgeMs = maxAgeMs
        self.maxBytes = maxBytes
    }
}

extension Store {
    static let retentionBatch = 500

    /// Applies `policy` to `stream` at time `nowMs`; returns the number of windows deleted.
    @discardableResult
    public func enforceRetention(stream: String, policy: RetentionPolicy, nowMs: Int64) throws -> Int {
        var deleted = 0
        if let maxAge = policy.maxAgeMs {
            let cutoff = nowMs - maxAge
            while true {
                let n = try write("retention age \(stream)") { db in
                    try db.execute(sql: """
                        DELETE FROM windows WHERE id IN (
                            SELECT id FROM windows WHERE stream_id = ? AND MAX(end_ms, committed_ms) <= ? ORDER BY start_ms LIMIT ?)
                        """, arguments: [stream, cutoff, Self.retentionBatch])
                    return db.changesCount
                }
                deleted += n
                if n < Self.retentionBatch { break }
            }
        }
        if let maxBytes = policy.maxBytes {
            while true {
                let n = try write("retention size \(stream)") { db -> Int in
                    let estimated = try Int64.fetchOne(db, sql: "SELECT COALESCE(SUM(bytes), 0) FROM windows WHERE stream_id = ?",
                                                       arguments: [stream]) ?? 0
                    let allEstimated = try Int64.fetchOne(db, sql: "SELECT COALESCE(SUM(bytes), 0) FROM windows") ?? 0
                    let pages = try Int64.fetchOne(db, sql: "PRAGMA page_count") ?? 0
                    let free = try Int64.fetchOne(db, sql: "PRAGMA freelist_count") ?? 0
                    let pageSize = try Int64.fetchOne(db, sql: "PRAGMA page_size") ?? 0
                    guard estimated > 0, allEstimated > 0 else { return 0 }
                    // Disk bytes per estimated byte, over the whole file (at least 1).
                    let scale = max(1, Double(max(0, pages - free) * pageSize) / Double(allEstimated))
                    let onDisk = Double(estimated) * scale
                    guard onDisk > Double(maxBytes) else { return 0 }
                    // Delete the oldest windows whose cumulative (estimated) size covers the excess.
                    var excess = Int64(((onDisk - Double(maxBytes)) / scale).rounded(.up))
                    var ids: [Int64] = []
                    let rows = try Row.fetchCursor(db, sql: "SELECT id, bytes FROM windows WHERE stream_id = ? ORDER BY start_ms",
                                                   arguments: [stream])
                    while excess > 0, ids.count < Self.retentionBatch, let r = try rows.next() {
                        ids.append(r["id"])
                        excess -= r["bytes"] as Int64
                    }
                    try db.execute(sql: "DELETE FROM windows WHERE id IN (\(ids.map(String.init).joined(separator: ",")))")
                    return db.changesCount
                }
                deleted += n
                // Measured again after each batch: freed pages change the scale.
                if n == 0 { break }
            }
        }
        return deleted
    }
}

extension Store {
    /// Deletes events older than `maxAgeMs`; returns how many.
    @discardableResult
    public func pruneEvents(olderThanMs maxAgeMs: Int64, nowMs: Int64) throws -> Int {
        try write("prune events") { db in
            try db.execute(sql: "DELETE FROM events WHERE at_ms < ?", arguments: [nowMs - maxAgeMs])
            return db.changesCount
        }
    }
}
