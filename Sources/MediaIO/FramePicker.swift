// One picture from an input, for commands that look at a single moment: the first sampled
// frame at or after a time (an image file is a one-frame input at time 0), and a frame about
// half a second before it when the input has one, to measure motion. The input is decoded
// from the start at `ticksPerSecond` (skipping the frames no tick needs), so it works on any
// input FFmpeg reads, seekable or not.

extension MediaSource {
    /// Sampling rate used to find the frame; the picked frame is within 1/rate s of `atMs`.
    public static let pickRate = 4.0
    /// How far before the picked frame the motion reference is taken.
    public static let motionReferenceMs: Int64 = 500

    /// The frame at `atMs` (the first sampled at or after it) and, when there is one, a
    /// sampled frame at least `motionReferenceMs` before it.
    public static func frame(input: String, atMs: Int64, options base: MediaOptions = MediaOptions())
        throws(MediaError) -> (frame: VideoFrame, earlier: VideoFrame?)
    {
        var o = base
        o.sampling = .fps(pickRate)
        o.decodeAudio = false
        o.decodeVideo = true
        o.pixelLayout = .rgb8
        let source = try MediaSource(input: input, options: o)
        var recent: [VideoFrame] = [] // sampled frames of the last second before `atMs`, oldest first
        var last: VideoFrame? = nil
        while let window = try source.nextWindow() {
            for f in window.frames {
                if f.ptsMs >= atMs {
                    return (f, recent.last { $0.ptsMs <= f.ptsMs - motionReferenceMs })
                }
                recent.append(f)
                recent.removeAll { $0.ptsMs < f.ptsMs - 1000 }
                last = f
            }
        }
        // A still image, or a time just past the last frame of a short input: its last picture
        // stands for "now" when it is within one sampling tick.
        if let last, atMs - last.ptsMs <= Int64(1000 / pickRate) || atMs == 0 {
            return (last, recent.dropLast().last { $0.ptsMs <= last.ptsMs - motionReferenceMs })
        }
        throw .noFrameAt(input: input, atMs: atMs, lastMs: last?.ptsMs)
    }
}
