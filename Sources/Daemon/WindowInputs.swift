// Prepares each window once per distinct encoder input: audio or not, and every distinct
// frame request (size, layout, rate). Encoders that ask for the same thing share one copy;
// a frame is scaled once per size, however many encoders read that size.
import MediaIO
import SightlineCore

/// Per-pipeline preparation of encoder inputs (one pipeline calls it serially).
final class WindowInputs: @unchecked Sendable {
    // Invariant: only the pipeline's encoding task calls `prepare`, one window at a time.
    private let resizer = FrameResizer()

    /// `window` as each input in `inputs` reads it.
    func prepare(_ window: MediaWindow, for inputs: [EncoderInput]) -> [EncoderInput: MediaWindow] {
        var frameVariants: [FrameRequest: [VideoFrame]] = [:]
        var out: [EncoderInput: MediaWindow] = [:]
        for input in inputs where out[input] == nil {
            var w = window
            if !input.audio { w.audio = [] }
            if let request = input.video {
                if let frames = frameVariants[request] {
                    w.frames = frames
                } else {
                    let frames = frames(of: window, request)
                    frameVariants[request] = frames
                    w.frames = frames
                }
            } else {
                w.frames = []
            }
            out[input] = w
        }
        return out
    }

    /// The window's frames thinned to the request's rate, then scaled and laid out as asked.
    func frames(of window: MediaWindow, _ request: FrameRequest) -> [VideoFrame] {
        var picked = window.frames
        if let fps = request.maxFps, fps > 0 {
            let spacingMs = Int64((1000 / fps).rounded())
            var nextMs = Int64.min
            picked = picked.filter { f in
                guard f.ptsMs >= nextMs else { return false }
                nextMs = f.ptsMs + spacingMs
                return true
            }
        }
        if request.size == nil, request.layout == .rgb8 { return picked }
        return picked.compactMap { f in
            if f.layout == request.layout, request.size == nil || (request.size?.width == f.width && request.size?.height == f.height) {
                return f
            }
            return resizer.resize(f, to: request.size, layout: request.layout)
        }
    }
}
