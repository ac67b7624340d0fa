// The daemon's answer to the API's StatusSource: readiness, models, per-stream status and
// the daemon-side metrics (encoder latency, thinned frames, windows shed under load, lag per
// modality, encoder errors, unrecognised speech).
import Server
import SightlineCore
import Synchronization

public final class DaemonStatus: StatusSource {
    public let version: String
    public let modelsLoaded: [String]
    let supervisor: Supervisor
    let clock: any DaemonClock
    private let ready = Mutex(false)

    public init(version: String, modelsLoaded: [String], supervisor: Supervisor, clock: any DaemonClock) {
        self.version = version
        self.modelsLoaded = modelsLoaded
        self.supervisor = supervisor
        self.clock = clock
    }

    public var isReady: Bool { ready.withLock { $0 } }
    public func markReady() { ready.withLock { $0 = true } }

    public func streamStatuses() -> [StreamStatus] {
        let now = clock.nowMs()
        return supervisor.runtimes.map { $0.status(nowMs: now) }
    }

    public func metricsText() -> String {
        var out = "# HELP sightline_encoder_seconds_total Time spent in each encoder.\n# TYPE sightline_encoder_seconds_total counter\n"
        var longest = "# HELP sightline_encoder_longest_window_seconds The longest time each encoder took over one window.\n# TYPE sightline_encoder_longest_window_seconds gauge\n"
        var commits = "# HELP sightline_store_longest_commit_seconds The longest a window's commit to the store took (with its match events).\n# TYPE sightline_store_longest_commit_seconds gauge\n"
        var calls = "# HELP sightline_encoder_windows_total Windows each encoder processed.\n# TYPE sightline_encoder_windows_total counter\n"
        var thinned = "# HELP sightline_frames_thinned_total Video frames dropped from queued windows (audio kept).\n# TYPE sightline_frames_thinned_total counter\n"
        var skipped = "# HELP sightline_frames_skipped_total Sampled frames a picture modality left out because nothing moved (motion gate).\n# TYPE sightline_frames_skipped_total counter\n"
        var shed = "# HELP sightline_windows_shed_total Windows a picture modality left out because a live stream was late (scheduler).\n# TYPE sightline_windows_shed_total counter\n"
        var lag = "# HELP sightline_modality_lag_seconds Wall clock minus the end of the last window each encoder analysed (live streams; packed speech counts the audio its queue holds).\n# TYPE sightline_modality_lag_seconds gauge\n"
        let now = clock.nowMs()
        var errors = "# HELP sightline_encoder_errors_total Encoder failures (window stored without that evidence).\n# TYPE sightline_encoder_errors_total counter\n"
        for r in supervisor.runtimes {
            let s = r.snapshot
            let id = Metrics.escape(r.id)
            for (name, ms) in s.encodeMs.sorted(by: { $0.key < $1.key }) {
                out += "sightline_encoder_seconds_total{stream=\"\(id)\",encoder=\"\(name)\"} \(ms / 1000)\n"
                calls += "sightline_encoder_windows_total{stream=\"\(id)\",encoder=\"\(name)\"} \(s.encodeCalls[name] ?? 0)\n"
                longest += "sightline_encoder_longest_window_seconds{stream=\"\(id)\",encoder=\"\(name)\"} \((s.encodeLongestMs[name] ?? 0) / 1000)\n"
            }
            commits += "sightline_store_longest_commit_seconds{stream=\"\(id)\"} \(s.commitLongestMs / 1000)\n"
            thinned += "sightline_frames_thinned_total{stream=\"\(id)\"} \(s.framesThinned)\n"
            for (name, n) in s.framesSkipped.sorted(by: { $0.key < $1.key }) {
                skipped += "sightline_frames_skipped_total{stream=\"\(id)\",encoder=\"\(name)\"} \(n)\n"
            }
            for (name, n) in s.windowsShed.sorted(by: { $0.key < $1.key }) {
                shed += "sightline_windows_shed_total{stream=\"\(id)\",encoder=\"\(name)\"} \(n)\n"
            }
            if s.epochTimes {
                for (name, end) in r.analysedEnds(s).sorted(by: { $0.key < $1.key }) {
                    lag += "sightline_modality_lag_seconds{stream=\"\(id)\",encoder=\"\(name)\"} \(Double(max(0, now - end)) / 1000)\n"
                }
            }
            errors += "sightline_encoder_errors_total{stream=\"\(id)\"} \(s.encoderErrors)\n"
        }
        var unrecognized = "# HELP sightline_speech_unrecognized_total Speech the voice detector found that gave no text, also when decoded on its own.\n# TYPE sightline_speech_unrecognized_total counter\n"
        for (stream, count) in supervisor.speechUnrecognized {
            unrecognized += "sightline_speech_unrecognized_total{stream=\"\(Metrics.escape(stream))\"} \(count)\n"
        }
        return out + calls + longest + commits + thinned + skipped + shed + lag + errors + unrecognized + packingText()
    }

    /// Live speech's recogniser calls and how many utterances were packed (they share an
    /// encoder window with others, and their word times can move a little): all streams together.
    func packingText() -> String {
        guard let p = (supervisor.encoders as? RegistryEncoders)?.speechPacking else { return "" }
        return """
            # HELP sightline_speech_recognizer_calls_total Whisper calls for live streams' utterances (one encoder window each, or more for a batch that does not fit one).
            # TYPE sightline_speech_recognizer_calls_total counter
            sightline_speech_recognizer_calls_total \(p.calls)
            # HELP sightline_speech_recognizer_seconds_total Time spent in those calls; while one runs, every live stream's next utterance waits.
            # TYPE sightline_speech_recognizer_seconds_total counter
            sightline_speech_recognizer_seconds_total \(p.callSeconds)
            # HELP sightline_speech_recognizer_longest_call_seconds The longest of those calls so far.
            # TYPE sightline_speech_recognizer_longest_call_seconds gauge
            sightline_speech_recognizer_longest_call_seconds \(p.longestCallSeconds)
            # HELP sightline_speech_utterances_total Live streams' utterances recognised.
            # TYPE sightline_speech_utterances_total counter
            sightline_speech_utterances_total \(p.utterances)
            # HELP sightline_speech_packed_utterances_total Utterances that shared their Whisper call with others' (they ended while Whisper was busy, or waited [speech] pack_latency).
            # TYPE sightline_speech_packed_utterances_total counter
            sightline_speech_packed_utterances_total \(p.packed)

            """
    }
}
