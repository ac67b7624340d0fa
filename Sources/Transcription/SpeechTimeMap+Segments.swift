// Puts recognised segments (timed in the joined speech-only audio) back on the media
// timeline. Every timestamp is mapped on its own: a start into the region that holds it, an
// end into the region that holds it, so a segment keeps its true start and end even when it
// spans regions. A segment must never span the silence the VAD removed between two regions:
// with word times, a segment that crosses a seam is split there (each part keeps its own
// words and text) and every part runs from its first word's start to its last word's end;
// without them it cannot be split, and runs from its mapped start to its mapped end.
import SpokenWords
import Subtitles

extension SpeechTimeMap {
    public func restore(_ segments: [TranscriptSegment]) -> [TranscriptSegment] {
        guard !pieces.isEmpty else { return segments.map(\.fittedToWords) }
        return segments.flatMap { $0.words.isEmpty ? [restoreEnds($0)] : restoreByWords($0) }
    }

    private func restoreEnds(_ s: TranscriptSegment) -> TranscriptSegment {
        var out = s
        out.startMs = originalMs(joinedMs: s.startMs, isEnd: false)
        out.endMs = max(out.startMs, originalMs(joinedMs: s.endMs, isEnd: true))
        return out
    }

    private func restoreByWords(_ s: TranscriptSegment) -> [TranscriptSegment] {
        // Each word lives in the piece that holds most of it, clamped to that piece.
        var groups: [(piece: Int, words: [TranscriptWord])] = []
        for w in s.words {
            let i = piece(of: w)
            var mapped = w
            mapped.startMs = originalMs(joinedMs: w.startMs, inPiece: i)
            mapped.endMs = max(mapped.startMs, originalMs(joinedMs: w.endMs, inPiece: i))
            if groups.last?.piece == i { groups[groups.count - 1].words.append(mapped) } else { groups.append((i, [mapped])) }
        }
        if groups.count == 1 {
            var out = s
            out.words = groups[0].words
            return [out.fittedToWords]
        }
        return groups.map { g in
            TranscriptSegment(startMs: g.words[0].startMs, endMs: g.words.last!.endMs,
                              text: g.words.map(\.word).joined(), words: g.words)
        }
    }
}

extension SpeechTimeMap {
    /// The piece holding most of the word (joined times); the start's piece on a tie.
    func piece(of w: TranscriptWord) -> Int {
        let first = pieceIndex(joinedMs: w.startMs, isEnd: false)!
        let last = max(first, pieceIndex(joinedMs: w.endMs, isEnd: true)!)
        var best = first, bestOverlap: Int64 = -1
        for i in first...last {
            let lo = max(w.startMs, Int64(pieces[i].joinedStart) * 1000 / Int64(sampleRate))
            let hi = min(w.endMs, Int64(pieces[i].joinedEnd) * 1000 / Int64(sampleRate))
            if hi - lo > bestOverlap { bestOverlap = hi - lo; best = i }
        }
        return best
    }
}

extension TranscriptSegment {
    /// The segment running from its first word's start to its last word's end (Whisper's
    /// segment timestamps can sit a second or more outside the speech); unchanged without words.
    public var fittedToWords: TranscriptSegment {
        guard let first = words.first, let last = words.last else { return self }
        var out = self
        out.startMs = first.startMs
        out.endMs = max(first.startMs, words.map(\.endMs).max() ?? last.endMs)
        return out
    }
}

extension TranscriptSegment {
    /// The segment with it and its words moved `ms` later.
    public func shifted(by ms: Int64) -> TranscriptSegment {
        var out = self
        out.startMs += ms
        out.endMs += ms
        out.words = words.map { w in
            var m = w
            m.startMs += ms
            m.endMs += ms
            return m
        }
        return out
    }
}
