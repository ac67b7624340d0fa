// Bounds every blocking FFmpeg call. FFmpeg polls the interrupt callback during network
// and device I/O; returning non-zero makes the call fail with AVERROR_EXIT. We arm a
// deadline before each blocking call (open, read) and raise a flag on cancel(), so a dead
// camera cannot hang a pipeline and a supervisor can stop a stream from another thread.
import CFFmpeg
import Foundation
import Synchronization

final class InterruptState: Sendable {
    /// Monotonic nanoseconds after which blocking calls are aborted; 0 = no deadline.
    private let deadlineNs = Atomic<UInt64>(0)
    private let cancelled = Atomic<Bool>(false)
    /// Set when the last abort came from the deadline (not from cancel()).
    private let timedOut = Atomic<Bool>(false)

    static func nowNs() -> UInt64 { DispatchTime.now().uptimeNanoseconds }

    func arm(timeoutMs: Int64) {
        timedOut.store(false, ordering: .relaxed)
        deadlineNs.store(Self.nowNs() + UInt64(max(timeoutMs, 1)) * 1_000_000, ordering: .relaxed)
    }

    func disarm() { deadlineNs.store(0, ordering: .relaxed) }

    func cancel() { cancelled.store(true, ordering: .relaxed) }

    var isCancelled: Bool { cancelled.load(ordering: .relaxed) }
    var didTimeOut: Bool { timedOut.load(ordering: .relaxed) }

    /// Called by FFmpeg on its own thread: true means "abort the blocking call".
    func shouldAbort() -> Bool {
        if cancelled.load(ordering: .relaxed) { return true }
        let deadline = deadlineNs.load(ordering: .relaxed)
        if deadline != 0 && Self.nowNs() > deadline {
            timedOut.store(true, ordering: .relaxed)
            return true
        }
        return false
    }
}

/// The C callback FFmpeg calls; `opaque` is an unretained InterruptState owned by the Demuxer.
let interruptCallback: @convention(c) (UnsafeMutableRawPointer?) -> Int32 = { opaque in
    guard let opaque else { return 0 }
    return Unmanaged<InterruptState>.fromOpaque(opaque).takeUnretainedValue().shouldAbort() ? 1 : 0
}
