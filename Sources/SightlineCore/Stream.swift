// The state of a configured stream, as the daemon's pipelines report it and the API, the
// metrics and clients show it. Typed here so that every layer compares enum cases, never
// strings.

/// Where a stream's pipeline is in its life.
public enum StreamState: String, Sendable, Equatable, Codable, CaseIterable {
    /// Opening the source for the first time.
    case starting
    /// Windows are being read, encoded and stored.
    case running
    /// The source failed or ended; waiting to open it again (with back-off).
    case reconnecting
    /// The source can never work (a missing file, an unsupported codec); not retried.
    case failed
    /// A file stream read to its end.
    case finished
    /// Stopped by shutdown or reload.
    case stopped
    /// `enabled = false` in the stream's file.
    case disabled
}

/// A stream's configuration and live counters, as `/v1/streams` returns it.
public struct StreamStatus: Sendable, Equatable, Codable {
    /// The stream's configured id.
    public var id: String
    /// Where it reads from (file path or URL, credentials removed).
    public var source: String
    /// Where its pipeline is.
    public var state: StreamState
    /// The last error of the source, while it is not running.
    public var lastError: String?
    /// Wall-clock ms minus the end of the last committed window (live streams), or nil.
    public var lagMs: Int64?
    /// Per encoder ("speech", "people"): wall-clock ms minus the end of the last window it
    /// analysed (live streams), or nil. A picture modality thinned under load lags the stream;
    /// packed speech lags it by the audio its queue holds (the packer's wait included).
    public var modalityLagMs: [String: Int64]?
    /// Windows committed to the store.
    public var windowsProcessed: Int
    /// Windows dropped because the encoders fell behind a live source.
    public var windowsDropped: Int
    /// Times the source was reopened.
    public var reconnects: Int
    /// Windows read but not yet encoded.
    public var queueDepth: Int

    /// A status with the given counters.
    public init(id: String, source: String, state: StreamState, lastError: String? = nil, lagMs: Int64? = nil,
                modalityLagMs: [String: Int64]? = nil, windowsProcessed: Int = 0, windowsDropped: Int = 0,
                reconnects: Int = 0, queueDepth: Int = 0)
    {
        self.id = id
        self.source = source
        self.state = state
        self.lastError = lastError
        self.lagMs = lagMs
        self.modalityLagMs = modalityLagMs
        self.windowsProcessed = windowsProcessed
        self.windowsDropped = windowsDropped
        self.reconnects = reconnects
        self.queueDepth = queueDepth
    }

    enum CodingKeys: String, CodingKey {
        case id, source, state, reconnects
        case lastError = "last_error", lagMs = "lag_ms", modalityLagMs = "modality_lag_ms", windowsProcessed = "windows_processed"
        case windowsDropped = "windows_dropped", queueDepth = "queue_depth"
    }
}
