// Puts recognised segments (timed in the joined speech-only audio) back on the media
// timeline. A segment must never span the silence the VAD removed between two regions:
// with word times, a segment that crosses a seam is split there (each part keeps its own
// words and text); without them, it is clipped to the region that holds most of it.
import Subtitles

extension SpeechTimeMap {
    public func restore(_ segments: [TranscriptSegment]) -> [TranscriptSegment] {
        guard !pieces.isEmpty else { return segments }
        return segments.flatMap { $0.words.isEmpty ? [restoreByOverlap($0)] : restoreByWords($0) }
    }

    private func restoreByOverlap(_ s: TranscriptSegment) -> TranscriptSegment {
        let first = pieceIndex(joinedMs: s.startMs, isEnd: false)!
        let last = pieceIndex(joinedMs: s.endMs, isEnd: true)!
        var best = first
        var bestOverlap: Int64 = -1
        for i in first...max(first, last) {
            let p = pieces[i]
            let lo = max(s.startMs, Int64(p.joinedStart) * 1000 / Int64(sampleRate))
            let hi = min(s.endMs, Int64(p.joinedEnd) * 1000 / Int64(sampleRate))
            if hi - lo > bestOverlap { bestOverlap = hi - lo; best = i }
        }
        var out = s
        out.startMs = originalMs(joinedMs: s.startMs, inPiece: best)
        out.endMs = max(out.startMs, originalMs(joinedMs: s.endMs, inPiece: best))
        return out
    }

    private func restoreByWords(_ s: TranscriptSegment) -> [TranscriptSegment] {
        // Each word lives in the piece where it starts; its end is clamped to that piece.
        var groups: [(piece: Int, words: [TranscriptWord])] = []
        for w in s.words {
            let i = pieceIndex(joinedMs: w.startMs, isEnd: false)!
            var mapped = w
            mapped.startMs = originalMs(joinedMs: w.startMs, inPiece: i)
            mapped.endMs = max(mapped.startMs, originalMs(joinedMs: w.endMs, inPiece: i))
            if groups.last?.piece == i { groups[groups.count - 1].words.append(mapped) } else { groups.append((i, [mapped])) }
        }
        if groups.count == 1 {
            let i = groups[0].piece
            var out = s
            out.words = groups[0].words
            out.startMs = min(originalMs(joinedMs: s.startMs, inPiece: i), out.words[0].startMs)
            out.endMs = max(originalMs(joinedMs: s.endMs, inPiece: i), out.words.last!.endMs)
            return [out]
        }
        return groups.enumerated().map { k, g in
            var start = g.words[0].startMs, end = g.words.last!.endMs
            if k == 0 { start = min(start, originalMs(joinedMs: s.startMs, inPiece: g.piece)) }
            if k == groups.count - 1 { end = max(end, originalMs(joinedMs: s.endMs, inPiece: g.piece)) }
            let text = g.words.map(\.word).joined()
            return TranscriptSegment(startMs: start, endMs: end, text: text, words: g.words)
        }
    }
}
