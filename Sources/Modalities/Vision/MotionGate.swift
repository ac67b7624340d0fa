// Runs a costly picture modality only when the picture changed: a frame is analysed when
// more of it than the motion modality's report threshold differs from the stream's slowly
// updated background (`MotionBackground`), and at least every `keepAliveMs` anyway, so a
// person who stands still is still seen now and then. Frames left out are counted, never
// dropped silently. The gate costs a 64x36 thumbnail per frame.
import MediaIO
import SightlineCore
import Synchronization

/// One stream's gate for one modality; frames in time order.
public final class MotionGate: Sendable {
    /// A frame is analysed at least this often (ms of stream time) whatever moves.
    public let keepAliveMs: Int64
    private struct State {
        var background = MotionBackground()
        var lastAnalysedMs: Int64? = nil
        var skipped = 0
    }
    private let state = Mutex(State())

    public init(keepAliveMs: Int64) { self.keepAliveMs = keepAliveMs }

    /// Whether `frame` is to be analysed (it moved, or the keep-alive is due); the background
    /// learns every frame either way.
    public func admits(_ frame: VideoFrame) -> Bool {
        state.withLock { s in
            let changed = s.background.changed(frame)
            let moved = changed.map { mask in
                Double(mask.filter { $0 }.count) / Double(max(1, mask.count)) >= MotionEncoder.reportThreshold
            } ?? true // the first frame: nothing known yet
            let due = s.lastAnalysedMs.map { frame.ptsMs - $0 >= keepAliveMs } ?? true
            guard moved || due else {
                s.skipped += 1
                return false
            }
            s.lastAnalysedMs = frame.ptsMs
            return true
        }
    }

    /// Frames left out so far.
    public var skipped: Int { state.withLock { $0.skipped } }
}

extension FrameEncoder: FrameSkipping {
    public var framesSkipped: Int { gate?.skipped ?? 0 }

    /// The same modality, analysing only the frames `gate` admits.
    public func gated(by gate: MotionGate) -> FrameEncoder {
        var gated = self
        gated.gate = gate
        return gated
    }
}
