// The bounded queue between a stream's decoder and its encoders. Files (and non-realtime
// inputs) use back-pressure: a full queue makes the reader wait. Live inputs cannot wait
// (the source would fall behind real time), so a full queue is thinned instead, by this
// policy, which keeps speech first:
//   1. at most `capacity` queued windows keep their video frames: beyond that, the oldest
//      window's frames are dropped and its audio stays queued, so nothing said is lost
//      (frames are what is big: one 1080p RGB frame is 6 MB, a 2 s window's audio 128 KB);
//                                                                        → framesThinned
//   2. at most `audioCapacity` (4 × capacity) windows are queued: beyond that the oldest
//      quiet window (audio RMS below `quietDb`: no speech to lose) is dropped, else the
//      oldest window.                                                    → windowsDropped
// Memory is bounded by capacity frame-bearing windows plus 4 × capacity audio windows.
import MediaIO
import Modalities

public actor WindowQueue {
    public enum Mode: Sendable { case backPressure, thin }

    public let capacity: Int
    public let mode: Mode
    /// RMS level under which a window counts as quiet.
    public static let quietDb = -50.0

    private var items: [MediaWindow] = []
    private var finished = false
    private var waitingReader: CheckedContinuation<Void, Never>?
    private var waitingConsumer: CheckedContinuation<MediaWindow?, Never>?
    public private(set) var windowsDropped = 0
    public private(set) var framesThinned = 0

    public init(capacity: Int, mode: Mode) {
        precondition(capacity >= 1, "queue capacity must be positive")
        self.capacity = capacity
        self.mode = mode
    }

    public var depth: Int { items.count }

    /// Adds a window; with back-pressure, waits while the queue is full.
    public func push(_ window: MediaWindow) async {
        guard !finished else { return }
        if let c = waitingConsumer {
            waitingConsumer = nil
            c.resume(returning: window)
            return
        }
        if items.count >= capacity, mode == .backPressure {
            switch mode {
            case .backPressure:
                await withCheckedContinuation { waitingReader = $0 }
                guard !finished else { return }
            case .thin:
                break
            }
        }
        items.append(window)
        if mode == .thin { thin() }
    }

    /// The next window, or nil once finished and drained.
    public func pop() async -> MediaWindow? {
        if !items.isEmpty {
            let w = items.removeFirst()
            if let r = waitingReader {
                waitingReader = nil
                r.resume()
            }
            return w
        }
        if finished { return nil }
        return await withCheckedContinuation { waitingConsumer = $0 }
    }

    /// No more windows will be pushed; pop drains what is queued, then returns nil.
    public func finish() {
        finished = true
        waitingReader?.resume()
        waitingReader = nil
        if items.isEmpty {
            waitingConsumer?.resume(returning: nil)
            waitingConsumer = nil
        }
    }

    public var audioCapacity: Int { capacity * 4 }

    private func thin() {
        var withFrames = items.reduce(0) { $0 + ($1.frames.isEmpty ? 0 : 1) }
        var i = 0
        while withFrames > capacity, i < items.count {
            if !items[i].frames.isEmpty {
                framesThinned += items[i].frames.count
                items[i].frames = []
                withFrames -= 1
            }
            i += 1
        }
        while items.count > audioCapacity {
            if let q = items.firstIndex(where: { AudioLevelEncoder.levels($0.audio).0 < Self.quietDb }) {
                items.remove(at: q)
            } else {
                items.removeFirst()
            }
            windowsDropped += 1
        }
    }
}
