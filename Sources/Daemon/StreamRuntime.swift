// The live state of one stream, shared between its pipeline (writer) and the API, the
// metrics and the watchdog (readers).
import SightlineCore
import Synchronization

public final class StreamRuntime: Sendable {
    public struct Snapshot: Sendable, Equatable {
        public var state = StreamState.starting
        public var lastError: String?
        public var windowsProcessed = 0
        public var windowsDropped = 0
        /// Windows still queued when a stop's drain deadline passed (not processed).
        public var windowsAbandoned = 0
        public var framesThinned = 0
        public var reconnects = 0
        public var encoderErrors = 0
        public var queueDepth = 0
        /// End of the last committed window, on the stream's timeline.
        public var lastWindowEndMs: Int64?
        /// Wall clock of the last sign of progress (state change or commit), for stall detection.
        public var lastProgressMs: Int64 = 0
        /// Whether window times are wall-clock epoch ms (live or realtime), which makes lag meaningful.
        public var epochTimes = false
        /// Cumulative encode time per encoder name (ms) and calls, for /metrics.
        public var encodeMs: [String: Double] = [:]
        public var encodeCalls: [String: Int] = [:]
        /// The longest single window per encoder (ms), and the longest store commit: where a
        /// stream that stalled spent the time.
        public var encodeLongestMs: [String: Double] = [:]
        public var commitLongestMs: Double = 0
        /// Cumulative CPU time of the whole process while each stage ran (ms): the stage's
        /// kernels on every pool thread, plus whatever else ran meanwhile (the decoder ahead).
        public var encodeCpuMs: [String: Double] = [:]
        /// Frames each gated picture modality left out (nothing moved), cumulative.
        public var framesSkipped: [String: Int] = [:]
        /// Windows each picture modality left out because a stream was late (ComputeScheduler), cumulative.
        public var windowsShed: [String: Int] = [:]
        /// End of the last window each encoder returned from, on the stream's timeline
        /// (`analysedEnds` puts what a backlogged encoder has really analysed in its place).
        public var encodedEndMs: [String: Int64] = [:]
    }

    public let id: String
    public let source: String
    private let state: Mutex<Snapshot>

    /// `source` is kept with its credentials redacted: this is what the API shows.
    public init(id: String, source: String, nowMs: Int64) {
        self.id = id
        self.source = Credentials.redact(source)
        var s = Snapshot()
        s.lastProgressMs = nowMs
        self.state = Mutex(s)
    }

    public var snapshot: Snapshot { state.withLock { $0 } }

    /// Encoders that analyse behind the windows they are handed (packed speech), read when asked.
    private let followed = Mutex<[String: @Sendable () -> Int64?]>([:])

    /// Reads `name`'s analysed end from `analysedEnd` (nil: the end of the windows it returned from).
    public func follow(_ name: String, analysedEnd: @escaping @Sendable () -> Int64?) {
        followed.withLock { $0[name] = analysedEnd }
    }

    /// End of what each encoder has analysed, on the stream's timeline.
    public func analysedEnds(_ s: Snapshot) -> [String: Int64] {
        var ends = s.encodedEndMs
        for (name, end) in followed.withLock({ $0 }) {
            if let e = end(), ends[name] != nil { ends[name] = min(e, ends[name]!) }
        }
        return ends
    }

    public func update(_ body: (inout Snapshot) -> Void) { state.withLock { body(&$0) } }

    /// What the API shows: lags only where window times are wall-clock times.
    public func status(nowMs: Int64) -> StreamStatus {
        let s = snapshot
        return StreamStatus(id: id, source: source, state: s.state, lastError: s.lastError,
                            lagMs: s.epochTimes ? s.lastWindowEndMs.map { max(0, nowMs - $0) } : nil,
                            modalityLagMs: s.epochTimes ? analysedEnds(s).mapValues { max(0, nowMs - $0) } : nil,
                            windowsProcessed: s.windowsProcessed, windowsDropped: s.windowsDropped,
                            reconnects: s.reconnects, queueDepth: s.queueDepth)
    }
}
