// The picture evidence of a whole media file for the file-side tools (`sightline transcribe
// --tracks captions,text`): frames sampled at `fps` (1 a second by default), each analysed by
// the picture modalities a stream runs (PictureLook: people, faces, labels and the image
// embedding, on-screen text) plus motion against the previous sample, one window per sample
// [ptsMs, ptsMs + 1000 / fps). No audio is decoded.
import Foundation
import MediaIO
import SightlineCore

public enum FileFrameScan {
    /// Samples per second when none is given.
    public static let defaultFps = 1.0

    /// One window per sampled frame of `input`, in time order, with the evidence of `look`.
    /// `progress` gets (media ms done, duration ms if known) after each frame.
    public static func windows(input: String, look: PictureLook, fps: Double = defaultFps,
                               progress: ((Int64, Int64?) -> Void)? = nil) throws -> [WindowRecord]
    {
        guard fps > 0, fps <= 30 else { throw MediaError.invalidOptions("frame scan rate must be in (0, 30] per second, not \(fps)") }
        var options = MediaOptions()
        options.sampling = .fps(fps)
        options.decodeAudio = false
        options.pixelLayout = .rgb8
        let stepMs = max(1, Int64((1000 / fps).rounded()))
        options.windowMs = stepMs
        let source = try MediaSource(input: input, options: options)
        let duration = source.info.durationMs
        var out: [WindowRecord] = []
        var previous: VideoFrame? = nil
        while let window = try source.nextWindow() {
            for frame in window.frames {
                let span = FrameSpan(startMs: frame.ptsMs, endMs: frame.ptsMs + stepMs)
                var evidence = try look.evidence(frame, span: span)
                let moved = previous.map { MotionEncoder.changedFraction(MotionEncoder.thumbnail($0), MotionEncoder.thumbnail(frame)) } ?? 0
                evidence.append(Evidence(modality: .motion, startMs: span.startMs, endMs: span.endMs, value: moved))
                out.append(WindowRecord(streamId: input, startMs: span.startMs, endMs: span.endMs, frameCount: 1, evidence: evidence))
                previous = frame
                progress?(span.endMs, duration)
            }
        }
        return out
    }
}
