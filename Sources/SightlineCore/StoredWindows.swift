// What the store gives back about windows: a window with its evidence (timeline) and
// per-stream totals (metrics, status).

/// One stored window with its evidence, as the timeline endpoint returns it.
public struct TimelineWindow: Sendable, Equatable {
    /// The store's id of the window.
    public var id: Int64
    /// The stream's id.
    public var streamId: String
    /// The window's span.
    public var startMs: Int64
    public var endMs: Int64
    /// Everything stored for the window.
    public var evidence: [Evidence]

    /// A stored window.
    public init(id: Int64, streamId: String, startMs: Int64, endMs: Int64, evidence: [Evidence]) {
        self.id = id
        self.streamId = streamId
        self.startMs = startMs
        self.endMs = endMs
        self.evidence = evidence
    }
}

/// Per-stream totals of the store.
public struct StreamTotals: Sendable, Equatable {
    /// Windows stored.
    public var windows: Int
    /// End of the newest window.
    public var lastEndMs: Int64?
    /// Estimated bytes of the stream's rows.
    public var bytes: Int64

    /// Totals of one stream.
    public init(windows: Int, lastEndMs: Int64?, bytes: Int64) {
        self.windows = windows
        self.lastEndMs = lastEndMs
        self.bytes = bytes
    }
}
