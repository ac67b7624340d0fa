// Tightens word times to the speech the voice-activity detector heard. Whisper's word
// alignment (cross-attention + DTW) lets a word absorb a neighbouring silence: the word
// before a pause ends late, the word after it starts early (JFK's "ask" is aligned to
// 2.10–3.72 s over a pause at 2.18–3.28 s). Each word keeps one stretch of speech inside it
// (Silero chunks of 32 ms at p ≥ `threshold`, gaps shorter than `bridgeMs` bridged): the
// last one when a pause splits it, widened by `marginMs`; a word with no speech chunk keeps
// its times; a word with no speech in it at all, before a pause, moves to where speech
// resumes. Segments are then split where their words leave a pause of `splitPauseMs` or
// more, and fitted to their words.
import SpokenWords
import Subtitles
import VAD

public struct WordEdges: Sendable {
    /// (chunks,) Silero speech probabilities, one per 32 ms chunk, the first at `originMs`.
    public let probabilities: [Float]
    public let originMs: Int64
    public var threshold: Float = 0.35
    public var bridgeMs: Int64 = 200
    public var marginMs: Int64 = 40
    public var splitPauseMs: Int64 = 1000
    /// A last stretch shorter than this is not taken for the word (see `tightened`).
    public var minLastRunMs: Int64 = 96
    static let chunkMs = Int64(SileroVAD.chunkSamples / 16)

    public init(probabilities: [Float], originMs: Int64 = 0) {
        self.probabilities = probabilities
        self.originMs = originMs
    }

    public func refine(_ segments: [TranscriptSegment]) -> [TranscriptSegment] {
        segments.flatMap { s -> [TranscriptSegment] in
            guard !s.words.isEmpty else { return [s] }
            var t = s
            t.words = movedToTheirSpeech(s.words.map(tightened))
            return Self.split(t, atPausesOf: splitPauseMs)
        }
    }

    func tightened(_ w: TranscriptWord) -> TranscriptWord {
        let c = Self.chunkMs
        let s = w.startMs - originMs, e = w.endMs - originMs
        let first = max(0, Int(s / c)), last = min(probabilities.count, Int((e + c - 1) / c))
        guard first < last else { return w }
        var runs: [(start: Int64, end: Int64)] = []
        for i in first..<last where probabilities[i] >= threshold {
            let a = originMs + Int64(i) * c, b = a + c
            if let r = runs.last, a - r.end < bridgeMs { runs[runs.count - 1].end = b } else { runs.append((a, b)) }
        }
        // The aligner starts the word after a pause early, at the end of the word before it
        // (the pause is absorbed into the later word), so the word is its last stretch of
        // speech — unless that is a sliver (the next word's onset), then its longest.
        func overlap(_ r: (start: Int64, end: Int64)) -> Int64 { min(r.end, w.endMs) - max(r.start, w.startMs) }
        guard let lastRun = runs.last else { return w }
        let best = overlap(lastRun) >= minLastRunMs ? lastRun : runs.max(by: { overlap($0) < overlap($1) })!
        var out = w
        out.startMs = max(w.startMs, best.start - marginMs)
        out.endMs = max(out.startMs, min(w.endMs, best.end + marginMs))
        return out
    }

    /// Where a long pause was shortened to padding before decoding (the VAD gate, the live
    /// transcriber), the aligner can put the first word after it wholly inside the padding
    /// before it, so its restored times lie in silence (between sentences 3 s apart,
    /// "unless" ended up 3.7 s early). A word with no speech chunk in it whose next word
    /// starts after speech resumes is moved to where it resumes, keeping its length (at
    /// most up to the next word's end).
    func movedToTheirSpeech(_ words: [TranscriptWord]) -> [TranscriptWord] {
        let c = Self.chunkMs
        func chunk(_ t: Int64) -> Int { Int((t - originMs) / c) }
        func hasSpeech(_ from: Int64, _ to: Int64) -> Bool {
            let a = max(0, chunk(from)), b = min(probabilities.count, chunk(to + c - 1))
            return a < b && probabilities[a..<b].contains { $0 >= threshold }
        }
        var out = words
        for i in out.indices.dropLast() where !hasSpeech(out[i].startMs, out[i].endMs) {
            let next = out[i + 1]
            // The first speech chunk after the word, if it comes before the next word ends.
            let a = max(0, chunk(out[i].endMs)), b = min(probabilities.count, chunk(next.endMs + c - 1))
            guard a < b, let k = (a..<b).first(where: { probabilities[$0] >= threshold }) else { continue }
            let resumes = originMs + Int64(k) * c
            guard resumes - out[i].endMs >= bridgeMs else { continue }
            let length = out[i].endMs - out[i].startMs
            out[i].startMs = max(out[i].startMs, resumes - marginMs)
            out[i].endMs = max(out[i].startMs, min(out[i].startMs + length, max(next.endMs, out[i].startMs)))
        }
        return out
    }

    /// Parts of `s` between word gaps of at least `pauseMs`, each fitted to its words.
    public static func split(_ s: TranscriptSegment, atPausesOf pauseMs: Int64) -> [TranscriptSegment] {
        var parts: [[TranscriptWord]] = []
        for w in s.words {
            if let last = parts.last?.last, w.startMs - last.endMs >= pauseMs { parts.append([w]) }
            else if parts.isEmpty { parts.append([w]) } else { parts[parts.count - 1].append(w) }
        }
        if parts.count <= 1 { return [s.fittedToWords] }
        return parts.map { ws in
            TranscriptSegment(startMs: ws[0].startMs, endMs: ws.last!.endMs, text: ws.map(\.word).joined(), words: ws).fittedToWords
        }
    }
}
