// Cuts a stream's window sequence into timeline segments, one window at a time, as the
// windows are committed (the daemon) or read (a file). A boundary is placed
//   * at a visual change: the cosine distance between consecutive windows' MobileNetV2
//     embeddings is above the stream's own threshold, median + `visualSpread` × 1.4826 × MAD
//     of its last `historySize` distances (a robust "unusually large step" for this camera),
//     never below `minVisualDistance`; until `minHistory` distances are known the threshold
//     is `coldVisualDistance`;
//   * where people arrive or leave: the people count changes and the new count holds for
//     `persistWindows` windows (the boundary goes where it first changed);
//   * at a speech edge and at a motion edge: speaking / moving (motion ≥ `motionLevel`)
//     switches and holds for `persistWindows` windows likewise;
// but never so that a closed segment is shorter than `minSegmentMs`, and a segment is closed
// when it reaches `maxSegmentMs` (a static scene still gets a caption every so often).
// Pure value type: the caller owns it and keeps one per stream.

/// Why a segment ended.
public enum SegmentCause: String, Sendable, Equatable, Codable {
    case visualChange = "visual_change"
    case people
    case speech
    case motion
    case maxLength = "max_length"
    /// The stream ended (or the daemon stopped) with the segment open.
    case end
}

/// A closed timeline segment: its span and the windows it covers.
public struct Segment: Sendable, Equatable {
    public var startMs: Int64
    public var endMs: Int64
    public var windows: [SegmentWindow]
    public var cause: SegmentCause

    public init(windows: [SegmentWindow], cause: SegmentCause) {
        self.windows = windows
        self.startMs = windows.first?.startMs ?? 0
        self.endMs = windows.last?.endMs ?? 0
        self.cause = cause
    }
}

/// The segmenter's rules (see the file header); the defaults suit 1-4 s windows.
public struct SegmenterOptions: Sendable, Equatable {
    /// No segment shorter than this is closed by a change.
    public var minSegmentMs: Int64 = 4_000
    /// A segment this long is closed whatever happens.
    public var maxSegmentMs: Int64 = 60_000
    /// Windows a new people count, speaking or moving state must hold.
    public var persistWindows = 2
    /// Recent distances the visual threshold is computed from.
    public var historySize = 60
    /// Distances needed before the stream's own threshold is used.
    public var minHistory = 8
    /// The threshold before that.
    public var coldVisualDistance = 0.35
    /// The threshold is never below this (a static camera's distances are all near 0, and
    /// sensor noise must not become a scene change).
    public var minVisualDistance = 0.12
    /// How many robust standard deviations above the median a step must be.
    public var visualSpread = 4.0
    /// Changed-pixel fraction at which a window counts as moving.
    public var motionLevel = 0.02

    public init() {}
}

/// One stream's segmenter: push windows in time order, get segments as they close.
public struct Segmenter: Sendable {
    public let options: SegmenterOptions
    /// The open segment's windows.
    public private(set) var open: [SegmentWindow] = []
    /// Recent visual distances (oldest first).
    private(set) var distances: [Double] = []
    /// The state the open segment started in (people, speaking, moving).
    private var state: State?

    struct State: Equatable {
        var people: Int?
        var speaking: Bool
        var moving: Bool?
    }

    public init(options: SegmenterOptions = SegmenterOptions()) { self.options = options }

    /// The visual threshold for the next distance.
    public var visualThreshold: Double {
        guard distances.count >= options.minHistory else { return max(options.coldVisualDistance, options.minVisualDistance) }
        let median = Self.median(distances)
        let mad = Self.median(distances.map { abs($0 - median) })
        return max(options.minVisualDistance, median + options.visualSpread * 1.4826 * mad)
    }

    func condition(of w: SegmentWindow) -> State {
        State(people: w.people, speaking: w.speaking, moving: w.motion.map { $0 >= options.motionLevel })
    }

    /// Adds the next window; returns the segments it closed (at most two: one by a change that
    /// began earlier, then the rest by the maximum length), oldest first.
    public mutating func push(_ window: SegmentWindow) -> [Segment] {
        var closed: [Segment] = []
        guard let last = open.last else {
            open = [window]
            state = condition(of: window)
            return []
        }
        // Visual change between this window and the previous one.
        var cut: (index: Int, cause: SegmentCause)? = nil
        if let d = SegmentWindow.distance(last.image, window.image) {
            if d > visualThreshold { cut = (open.count, .visualChange) }
            distances.append(d)
            if distances.count > options.historySize { distances.removeFirst(distances.count - options.historySize) }
        }
        open.append(window)
        // A change of people, speech or motion that has held for `persistWindows` windows,
        // where it began.
        if cut == nil, let s = state {
            let n = max(1, options.persistWindows)
            if open.count >= n + 1 {
                let tail = open.suffix(n).map(condition(of:))
                let first = tail[0]
                if tail.allSatisfy({ $0 == first }) && first != s {
                    let cause: SegmentCause = first.people != s.people ? .people : first.speaking != s.speaking ? .speech : .motion
                    cut = (open.count - n, cause)
                }
            }
        }
        if let c = cut {
            let head = Array(open[..<c.index])
            if let f = head.first, let l = head.last, l.endMs - f.startMs >= options.minSegmentMs {
                closed.append(Segment(windows: head, cause: c.cause))
                open.removeFirst(c.index)
                state = condition(of: open[0])
            } else if c.cause != .visualChange {
                // Too short to close: the segment goes on in the new state.
                state = condition(of: window)
            }
        }
        if let f = open.first, let l = open.last, l.endMs - f.startMs >= options.maxSegmentMs {
            closed.append(Segment(windows: open, cause: .maxLength))
            open = []
            state = nil
        }
        return closed
    }

    /// Replaces the open segment's last window with `window`: the same span, with evidence
    /// the stream's end added to it (its last utterance). The segment's cuts stay as they
    /// were. Nothing changes when that window is not the open segment's last one (a segment
    /// that closed with it has its caption already).
    public mutating func amendLast(_ window: SegmentWindow) {
        guard let i = open.indices.last, open[i].startMs == window.startMs, open[i].endMs == window.endMs else { return }
        open[i] = window
    }

    /// Closes the open segment (the stream ended); nil when there is none.
    public mutating func finish() -> Segment? {
        defer {
            open = []
            state = nil
        }
        return open.isEmpty ? nil : Segment(windows: open, cause: .end)
    }

    static func median(_ xs: [Double]) -> Double {
        guard !xs.isEmpty else { return 0 }
        let s = xs.sorted()
        return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
    }
}
