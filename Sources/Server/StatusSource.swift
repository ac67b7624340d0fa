// What the server needs from the running daemon beyond the store: readiness, per-stream
// state and metrics. The daemon implements it; tests pass a fixed one.

public struct StreamStatus: Sendable, Equatable, Codable {
    public var id: String
    public var source: String
    /// "starting", "running", "reconnecting", "failed", "stopped", "disabled".
    public var state: String
    public var lastError: String?
    /// Wall-clock ms minus the end of the last committed window (live streams), or nil.
    public var lagMs: Int64?
    public var windowsProcessed: Int
    public var windowsDropped: Int
    public var reconnects: Int
    public var queueDepth: Int
    public init(id: String, source: String, state: String, lastError: String? = nil, lagMs: Int64? = nil,
                windowsProcessed: Int = 0, windowsDropped: Int = 0, reconnects: Int = 0, queueDepth: Int = 0)
    {
        self.id = id
        self.source = source
        self.state = state
        self.lastError = lastError
        self.lagMs = lagMs
        self.windowsProcessed = windowsProcessed
        self.windowsDropped = windowsDropped
        self.reconnects = reconnects
        self.queueDepth = queueDepth
    }
    enum CodingKeys: String, CodingKey {
        case id, source, state, reconnects
        case lastError = "last_error", lagMs = "lag_ms", windowsProcessed = "windows_processed"
        case windowsDropped = "windows_dropped", queueDepth = "queue_depth"
    }
}

public protocol StatusSource: Sendable {
    var version: String { get }
    /// True once models are loaded and the socket is bound.
    var isReady: Bool { get }
    var modelsLoaded: [String] { get }
    func streamStatuses() -> [StreamStatus]
    /// Prometheus text exposition lines for the daemon's own metrics (encoder latency, ...).
    func metricsText() -> String
}
