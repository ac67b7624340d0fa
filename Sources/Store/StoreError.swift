// Typed errors of the store: each says what failed, on which database or input, and what to do.

public enum StoreError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The database file could not be opened or migrated.
    case cannotOpen(path: String, reason: String)
    /// SQLite was built without FTS5, which the store needs for text search.
    case fts5Unavailable(path: String)
    /// A caller passed something the store cannot store (end before start, ...).
    case invalidRecord(String)
    /// An SQL statement failed.
    case sqlFailed(operation: String, reason: String)

    public var description: String {
        switch self {
        case let .cannotOpen(path, reason):
            return "cannot open the store at '\(path)': \(reason). Check that the directory exists and is writable by the daemon's user."
        case let .fts5Unavailable(path):
            return "the SQLite library used for '\(path)' has no FTS5 module; install a SQLite built with SQLITE_ENABLE_FTS5 (Debian's libsqlite3-0 has it)."
        case let .invalidRecord(text):
            return "invalid record: \(text)"
        case let .sqlFailed(operation, reason):
            return "store operation '\(operation)' failed: \(reason)"
        }
    }
}
