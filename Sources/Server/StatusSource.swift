// What the server needs from the running daemon beyond the store: readiness, per-stream
// state and metrics. The daemon implements it; tests pass a fixed one.
import SightlineCore

/// The running daemon as the API sees it.

public protocol StatusSource: Sendable {
    var version: String { get }
    /// True once models are loaded and the socket is bound.
    var isReady: Bool { get }
    var modelsLoaded: [String] { get }
    func streamStatuses() -> [StreamStatus]
    /// Prometheus text exposition lines for the daemon's own metrics (encoder latency, ...).
    func metricsText() -> String
}

/// `GET /v1/health`: readiness, version, loaded models and every stream's state.
public struct HealthReport: Sendable, Equatable, Codable {
    /// True once models are loaded and the socket is bound.
    public var ready: Bool
    public var version: String
    public var models: [String]
    /// State by stream id.
    public var streams: [String: StreamState]

    public init(ready: Bool, version: String, models: [String], streams: [String: StreamState]) {
        self.ready = ready
        self.version = version
        self.models = models
        self.streams = streams
    }
}
