// Turns one stream's raw timestamps into Sightline time (Int64 ms): media time from the
// start of a file, or wall-clock epoch ms for live inputs (anchored when the stream opens,
// advanced by PTS, never by arrival rate). Detects discontinuities — camera restarts,
// concatenated segments, PTS wrap the demuxer did not undo — and re-anchors so output time
// stays monotonic and continues where it left off.

struct StreamClock {
    /// Forward jumps up to this are real gaps (variable frame rate, dropped frames); larger
    /// ones are discontinuities. 10 s is far above any sane frame or packet interval.
    static let maxForwardGapMs: Int64 = 10_000
    /// Backward steps up to this are tolerated reordering jitter and clamped, not re-anchored.
    static let maxBackwardJitterMs: Int64 = 500

    /// Added to raw ms to give output ms; changes on each re-anchor.
    private(set) var offsetMs: Int64
    private var lastOutputMs: Int64? = nil
    /// Duration of the last unit (frame or audio chunk), used to place the next one after a jump.
    private var lastDurationMs: Int64 = 0
    private(set) var discontinuities = 0

    /// `originMs` is what raw time `rawOriginMs` maps to (0 for files, epoch ms for live).
    private let originMs: Int64

    init(rawOriginMs: Int64, originMs: Int64) {
        self.originMs = originMs
        offsetMs = originMs - rawOriginMs
    }

    /// Maps a raw timestamp (ms in the stream's own clock, nil when the packet had none)
    /// to output ms. A missing timestamp continues from the previous unit.
    mutating func map(rawMs: Int64?, durationMs: Int64) -> Int64 {
        defer { lastDurationMs = max(durationMs, 0) }
        guard let rawMs else {
            let next = lastOutputMs.map { $0 + lastDurationMs } ?? originMs
            lastOutputMs = next
            return next
        }
        var out = rawMs + offsetMs
        if let last = lastOutputMs {
            let expected = last + lastDurationMs
            if out > expected + Self.maxForwardGapMs || out < last - Self.maxBackwardJitterMs {
                offsetMs = expected - rawMs
                out = expected
                discontinuities += 1
            } else if out < last {
                out = last // small reordering jitter: keep time monotonic
            }
        }
        lastOutputMs = out
        return out
    }
}
