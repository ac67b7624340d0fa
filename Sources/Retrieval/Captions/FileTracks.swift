// The caption and on-screen-text cue tracks of a file, from its sampled windows' picture
// evidence (FileFrameScan) and its speech segments: the same segmenter and composer the
// daemon runs, so a file's captions read like a stream's. Text cues: each distinct on-screen
// line (compared as CaptionComposer compares them) is one cue per run of samples showing it,
// a gap of up to `textGapWindows` missed samples bridged (OCR misses a frame now and then).
import Foundation
import SightlineCore

/// A timed line of one track.
public struct TimedText: Sendable, Equatable {
    public var startMs: Int64
    public var endMs: Int64
    public var text: String
    public init(startMs: Int64, endMs: Int64, text: String) {
        self.startMs = startMs
        self.endMs = endMs
        self.text = text
    }
}

public enum FileTracks {
    /// Missed samples bridged inside one on-screen text cue.
    public static let textGapWindows = 1

    /// `records` as the segmenter sees them, with `speech` ([start, end) and text) marking the
    /// windows it overlaps as speaking and its text given to the window where it ends.
    public static func windows(_ records: [WindowRecord], speech: [TimedText]) -> [SegmentWindow] {
        var out = records.map(SegmentWindow.init)
        for s in speech {
            var last: Int? = nil
            for i in out.indices where out[i].endMs > s.startMs && out[i].startMs < s.endMs {
                out[i].speaking = true
                last = i
            }
            if let last { out[last].speech.append(s.text) }
        }
        return out
    }

    /// One caption cue per segment that has something to say.
    public static func captions(_ windows: [SegmentWindow], options: SegmenterOptions = SegmenterOptions(),
                                composer: CaptionComposer = CaptionComposer()) -> [TimedText]
    {
        var segmenter = Segmenter(options: options)
        var segments: [Segment] = []
        for w in windows { segments += segmenter.push(w) }
        if let last = segmenter.finish() { segments.append(last) }
        return segments.compactMap { seg in composer.caption(seg).map { TimedText(startMs: seg.startMs, endMs: seg.endMs, text: $0) } }
    }

    /// One cue per on-screen line per run of windows showing it, in time order.
    public static func text(_ windows: [SegmentWindow], composer: CaptionComposer = CaptionComposer()) -> [TimedText] {
        var open: [String: (cue: TimedText, lastIndex: Int)] = [:]
        var done: [TimedText] = []
        for (i, w) in windows.enumerated() {
            var seen = Set<String>()
            for line in w.text where line.confidence >= composer.minTextConfidence {
                let key = CaptionComposer.normalised(line.text)
                guard key.count >= composer.minTextCharacters, seen.insert(key).inserted else { continue }
                if var o = open[key], i - o.lastIndex <= textGapWindows + 1 {
                    o.cue.endMs = w.endMs
                    o.lastIndex = i
                    open[key] = o
                } else {
                    if let o = open[key] { done.append(o.cue) }
                    open[key] = (TimedText(startMs: w.startMs, endMs: w.endMs, text: line.text.trimmingCharacters(in: .whitespaces)), i)
                }
            }
        }
        done += open.values.map(\.cue)
        return done.sorted { ($0.startMs, $0.text) < ($1.startMs, $1.text) }
    }
}
