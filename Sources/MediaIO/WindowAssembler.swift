// Groups sampled frames and 16 kHz audio into fixed-stride windows [k·W, (k+1)·W) on the
// output timeline, and decides when a window is complete: when every active stream's
// clock has passed its end, or when one stream runs more than `maxStreamSkewMs` ahead of
// a stalled one (so a file whose video ends early cannot make audio pile up in memory).
// Windows are emitted in order and tile the timeline with no gaps or overlaps; at the end
// of input the last window is cut at the end of the content.

struct WindowAssembler {
    /// Containers interleave streams within about a second; past this skew the lagging
    /// stream is treated as absent for the windows the other has already passed.
    static let maxStreamSkewMs: Int64 = 10_000

    let windowMs: Int64
    /// Output time of window 0's start (0 for files, the epoch anchor for live inputs).
    let originMs: Int64
    let hasVideo: Bool
    let hasAudio: Bool

    private struct Pending {
        var frames: [VideoFrame] = []
        var audio: [Float] = [] // (windowMs * 16,) filled on first audio
    }
    private var pending: [Int: Pending] = [:]
    private var nextIndex = 0
    /// End of what each stream has delivered so far, relative to origin (ms).
    private var videoClockMs: Int64? = nil
    private var audioClockMs: Int64? = nil
    private(set) var contentEndMs: Int64 = 0
    private(set) var lateUnits = 0

    init(windowMs: Int64, originMs: Int64, hasVideo: Bool, hasAudio: Bool) {
        self.windowMs = windowMs
        self.originMs = originMs
        self.hasVideo = hasVideo
        self.hasAudio = hasAudio
    }

    private func index(ofRelativeMs t: Int64) -> Int {
        t <= 0 ? 0 : Int(t / windowMs)
    }

    /// Notes that the video stream reached relative time `t` (every decoded frame, sampled or not).
    mutating func advanceVideo(toRelativeMs t: Int64, frameDurationMs: Int64) {
        let end = t + frameDurationMs
        videoClockMs = max(videoClockMs ?? end, end)
        contentEndMs = max(contentEndMs, end)
    }

    mutating func add(frame: VideoFrame) {
        let i = index(ofRelativeMs: frame.ptsMs - originMs)
        guard i >= nextIndex else { lateUnits += 1; return }
        pending[i, default: Pending()].frames.append(frame)
    }

    /// Places `samples` starting at sample position `position` (16 kHz, relative to origin).
    mutating func add(samples: ArraySlice<Float>, atPosition position: Int64) {
        let perWindow = Int64(windowMs) * Int64(AudioFormat.samplesPerMs)
        var pos = position
        var offset = samples.startIndex
        if pos < 0 { // before the timeline's start (encoder priming): dropped
            offset += Int(min(-pos, Int64(samples.count)))
            pos = 0
        }
        while offset < samples.endIndex {
            let w = Int(pos / perWindow)
            let inWindow = Int(pos - Int64(w) * perWindow)
            let n = min(samples.endIndex - offset, Int(perWindow) - inWindow)
            if w >= nextIndex {
                var p = pending[w, default: Pending()]
                if p.audio.isEmpty { p.audio = [Float](repeating: 0, count: Int(perWindow)) }
                p.audio.withUnsafeMutableBufferPointer { dst in
                    samples.withUnsafeBufferPointer { src in
                        let from = offset - samples.startIndex
                        for j in 0..<n { dst[inWindow + j] = src[from + j] }
                    }
                }
                pending[w] = p
            } else {
                lateUnits += 1
            }
            offset += n
            pos += Int64(n)
        }
        let endMs = pos / Int64(AudioFormat.samplesPerMs)
        audioClockMs = max(audioClockMs ?? endMs, endMs)
        contentEndMs = max(contentEndMs, endMs)
    }

    /// Windows complete under the streams' clocks, in order.
    mutating func takeReady() -> [MediaWindow] {
        var out: [MediaWindow] = []
        while true {
            let end = Int64(nextIndex + 1) * windowMs
            let clocks = [hasVideo ? videoClockMs : nil, hasAudio ? audioClockMs : nil].compactMap { $0 }
            guard let lead = clocks.max(), let lag = clocks.min() else { break }
            let allPassed = lag >= end && clocks.count == (hasVideo ? 1 : 0) + (hasAudio ? 1 : 0)
            guard allPassed || lead >= end + Self.maxStreamSkewMs else { break }
            out.append(emit(index: nextIndex, endRelativeMs: end))
        }
        return out
    }

    /// Everything left, the last window cut at the end of the content.
    mutating func finish() -> [MediaWindow] {
        var out: [MediaWindow] = []
        while Int64(nextIndex) * windowMs < contentEndMs {
            let end = min(Int64(nextIndex + 1) * windowMs, contentEndMs)
            out.append(emit(index: nextIndex, endRelativeMs: end))
        }
        return out
    }

    private mutating func emit(index i: Int, endRelativeMs: Int64) -> MediaWindow {
        let p = pending.removeValue(forKey: i) ?? Pending()
        let start = Int64(i) * windowMs
        var audio = p.audio
        if hasAudio {
            let count = Int(endRelativeMs - start) * AudioFormat.samplesPerMs
            if audio.isEmpty { audio = [Float](repeating: 0, count: count) } else { audio.removeLast(audio.count - count) }
        }
        nextIndex = i + 1
        return MediaWindow(index: i, startMs: originMs + start, endMs: originMs + endRelativeMs,
                           frames: p.frames, audio: audio)
    }
}
