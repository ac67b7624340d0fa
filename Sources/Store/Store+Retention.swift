// Retention: per stream, delete windows older than a maximum age and, when the stream's
// estimated size exceeds its budget, the oldest windows until it fits. Evidence, words,
// embeddings and FTS entries go with their window (ON DELETE CASCADE + FTS triggers).
// Deletes run in batches so a large purge never holds the write lock for long.
import GRDB
import SightlineCore

public struct RetentionPolicy: Sendable, Equatable {
    /// Windows whose end is older than this are deleted; nil keeps them forever.
    public var maxAgeMs: Int64?
    /// Estimated bytes a stream may occupy; nil is unbounded.
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
                            SELECT id FROM windows WHERE stream_id = ? AND end_ms <= ? ORDER BY start_ms LIMIT ?)
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
                    let total = try Int64.fetchOne(db, sql: "SELECT COALESCE(SUM(bytes), 0) FROM windows WHERE stream_id = ?",
                                                   arguments: [stream]) ?? 0
                    guard total > maxBytes else { return 0 }
                    // Delete the oldest windows whose cumulative size covers the excess.
                    var excess = total - maxBytes
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
                if n < Self.retentionBatch { break }
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
