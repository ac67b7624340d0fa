// Speech recognition on a live stream, window by window. Audio goes through Silero VAD as it
// arrives; an online version of the speech-region rules (enter at p ≥ threshold, leave after
// `minSilenceMs` below the exit threshold, cut at `maxSpeechMs`) finds utterances. Only the
// open utterance (plus padding, plus a sentence still being finished) is buffered, so memory
// stays bounded on an endless stream, and silence never reaches the recogniser. Segment times
// are absolute: the time of the stream's first sample plus sample offsets.
//
// Accuracy as on the file path:
// - a slow speaker's sentence is cut into utterances at pauses. An utterance stays open for
//   `maxJoinGapMs`: the next one that closes within that gap joins it, up to `maxJoinedMs` of
//   speech. Joined utterances are decoded together, a pause under 2 s kept as heard (as the
//   file path's VAD gate joins regions) and a longer one shortened to 2 s (Whisper's word
//   alignment needs the pause: shortened to padding, the word after it is put before it).
//   Whisper ends a fragment decoded alone with a full stop, so punctuation does not end the
//   wait (`joinAfterSentenceEnd`);
// - an utterance the joint decode gives no words is decoded again on its own; one that gives
//   no text with the prompt is decoded again without it; one that still gives nothing is
//   counted in `unrecognizedCount` and listed in `unrecognized`;
// - an utterance can be decoded with the stream's previous text as prompt, as the file path
//   conditions each window on the text before it (`promptCharacters`, off by default).
// Word times are tightened to the VAD's speech and segments split at 1 s pauses (WordEdges).
//
// Two ways to read results (use one per transcriber):
// - `feed` / `flush`: only final segments, never replaced. A sentence is decoded once, when
//   it is final: `maxJoinGapMs` (3 s) of silence after it ends, or as soon as the speech
//   joined to it would pass `maxJoinedMs` (12 s), or at once with joining off. Latency budget:
//   that, plus one decode. The daemon reads this way.
// - `feedUtterances` / `flushUtterances`: every decode as soon as it is made, as a
//   `LiveUtterance` with a stable `id`: each utterance is decoded when it closes, and again
//   together with the open one when it joins it; one with a non-empty `replaces` supersedes
//   the utterances with those ids (already returned), whose stored results the caller must
//   delete and replace with this one's segments. If the joint decode loses one of its
//   utterances, the open one is kept as it was and the new one decoded alone. Latency: the
//   utterance's end + `minSilenceMs` + decode; more decodes than `feed`.
import SpokenWords
import Subtitles
import VAD

public struct LiveSpeechOptions: Sendable, Equatable {
    public var threshold: Float = 0.5
    /// Below this, a chunk counts as silence inside an utterance.
    public var exitThreshold: Float = 0.35
    /// Silence that ends an utterance. Shorter than the file default (2 s) to keep latency low.
    public var minSilenceMs = 700
    /// Utterances shorter than this are dropped (clicks, coughs).
    public var minSpeechMs = 250
    /// Audio kept on each side of an utterance (the file path's VAD gate pads regions by 400 ms
    /// too; with 200 ms, Whisper misheard a sentence's first word after a pause more often).
    public var padMs = 400
    /// An utterance is cut here and recognised, so the buffer never exceeds Whisper's 30 s window.
    public var maxSpeechMs = 28_000
    /// An utterance is joined with the next one when the pause between them is at most this
    /// long; 0 turns joining off. Longer would join more sentences a speaker finishes after a
    /// long pause (decoded alone, "prudently in his power" after 3–6 s came out as "Fruit and
    /// lean is power"), but a file stream's last sentence is decoded only once this much
    /// silence follows it (nothing flushes the transcriber at the end of a file yet).
    public var maxJoinGapMs = 3_000
    /// Joined speech (the utterances, without the pauses) is at most this long.
    public var maxJoinedMs = 12_000
    /// A pause between joined utterances shorter than this is decoded as it was heard; a
    /// longer one is shortened to this. The file path's VAD gate keeps silences under 2 s
    /// inside a region, and Whisper's word alignment needs the pause: shortened to padding,
    /// the first word after it is aligned into the padding before the pause and restored
    /// there (JFK's "ask not — what" put "what" 1 s early).
    public var keepPauseMs = 2_000
    /// Whether an utterance whose text ends a sentence also waits to be joined. Whisper
    /// ends a fragment decoded alone with a full stop ("how much there might be."), so the
    /// text alone cannot tell a finished sentence from a pause mid-sentence. Only when every
    /// decode is read (`feedUtterances`): with `feed` an utterance is not decoded until final.
    public var joinAfterSentenceEnd = true
    /// Characters of previous text given to the recogniser as prompt; 0: no prompt. Off by
    /// default: on the speech-pauses lecture (Whisper base, greedy) a 600-character prompt made
    /// Whisper repeat earlier sentences in later utterances.
    public var promptCharacters = 0

    public init() {}
}

/// One decode of the live path: an utterance (or a sentence joined from several) with the
/// segments recognised in it.
public struct LiveUtterance: Sendable, Equatable {
    /// Stable, increasing per transcriber.
    public var id: Int
    /// Ids of earlier utterances this one supersedes (their speech is part of this one).
    public var replaces: [Int]
    /// Media time (absolute ms) of the speech this decode covers.
    public var startMs: Int64
    public var endMs: Int64
    public var segments: [TranscriptSegment]
    /// false: it may still be replaced by a later utterance.
    public var isFinal: Bool
}

public final class LiveSpeechTranscriber {
    public let recognizer: any SegmentRecognizer
    public let options: LiveSpeechOptions
    /// nil: no VAD, every chunk counts as speech and utterances are cut at `maxSpeechMs`.
    private let vad: SileroVAD?
    private static let chunk = SileroVAD.chunkSamples
    private static let perMs = 16

    /// Absolute time (ms) of sample 0; set by the first feed.
    private var originMs: Int64? = nil
    /// (samples,) audio kept from sample index `bufferStart` on.
    private var buffer: [Float] = []
    private var bufferStart = 0
    /// (chunks,) VAD probability of each chunk from chunk index `bufferStart / chunk` on.
    private var probabilities: [Float] = []
    /// Samples fed to the VAD so far (a multiple of the chunk size).
    private var vadPosition = 0
    private var speechStart: Int? = nil
    private var silenceStart: Int? = nil
    /// The last utterance (or sentence joined from several) while it may still be joined
    /// with the next. `pieces`: its utterances (sample ranges). `utterance`: its latest decode
    /// when every decode is read; nil when only final segments are (decoded when final).
    private var open: (utterance: LiveUtterance?, pieces: [(start: Int, end: Int)], speechSamples: Int, prompt: String)? = nil
    /// Whether every decode is read (`feedUtterances`), so utterances are decoded as they
    /// close and again when joined, or only final segments (`feed`), so a sentence is decoded
    /// once, when it is final.
    private var decodesEveryUtterance = false
    /// Final text of the stream so far (the last `promptCharacters`), the next prompt.
    private var history = ""
    private var nextID = 0
    /// Language of the last recognised utterance.
    public private(set) var language = ""
    /// Utterances the VAD found that gave no text, also decoded alone without a prompt.
    /// The daemon can report it as a metric.
    public private(set) var unrecognizedCount = 0
    /// The most recent of them (at most 100), absolute ms.
    public private(set) var unrecognized: [UnrecognizedSpeech] = []

    public init(vad weights: SileroVADWeights?, recognizer: any SegmentRecognizer, options: LiveSpeechOptions = LiveSpeechOptions()) {
        self.vad = weights.map { SileroVAD(weights: $0) }
        self.recognizer = recognizer
        self.options = options
    }

    // MARK: - Final segments only

    /// Adds the next stretch of audio (contiguous with the previous one) starting at
    /// absolute `startMs`, and returns the segments that became final in it.
    public func feed(_ samples: [Float], startMs: Int64) throws -> [TranscriptSegment] {
        decodesEveryUtterance = false
        return try advance(samples, startMs: startMs).final.flatMap(\.segments)
    }

    /// Ends the stream: an utterance still open is recognised now; returns the rest.
    public func flush() throws -> [TranscriptSegment] {
        try finish().final.flatMap(\.segments)
    }

    // MARK: - Every decode, with replacements

    /// As `feed`, but returns every decode as soon as it is made (see the file header).
    public func feedUtterances(_ samples: [Float], startMs: Int64) throws -> [LiveUtterance] {
        decodesEveryUtterance = true
        return try advance(samples, startMs: startMs).emitted
    }

    public func flushUtterances() throws -> [LiveUtterance] {
        try finish().emitted
    }

    // MARK: - Stream

    private struct Output { var emitted: [LiveUtterance] = []; var final: [LiveUtterance] = [] }

    private func advance(_ samples: [Float], startMs: Int64) throws -> Output {
        if originMs == nil { originMs = startMs }
        buffer += samples
        var out = Output()
        let end = bufferStart + buffer.count
        while vadPosition + Self.chunk <= end {
            let from = vadPosition - bufferStart
            let p = vad.map { (try? $0.probability(ofChunk: buffer[from..<from + Self.chunk])) ?? 0 } ?? 1
            probabilities.append(p)
            let chunkStart = vadPosition
            vadPosition += Self.chunk
            try step(probability: p, chunkStart: chunkStart, into: &out)
        }
        trim()
        return out
    }

    private func finish() throws -> Output {
        var out = Output()
        if let start = speechStart {
            speechStart = nil
            silenceStart = nil
            try utteranceClosed(from: start, to: bufferStart + buffer.count, into: &out)
        }
        try finalizeOpen(into: &out)
        return out
    }

    // MARK: - Online region rules

    private func step(probability p: Float, chunkStart s: Int, into out: inout Output) throws {
        let minSilence = options.minSilenceMs * Self.perMs
        let maxSpeech = options.maxSpeechMs * Self.perMs
        guard let start = speechStart else {
            if p >= options.threshold {
                speechStart = s
                silenceStart = nil
            } else if let o = open, s + Self.chunk - o.pieces.last!.end > options.maxJoinGapMs * Self.perMs {
                try finalizeOpen(into: &out)
            }
            return
        }
        if let o = open, o.speechSamples + (s + Self.chunk - start) > options.maxJoinedMs * Self.perMs {
            // The utterance being heard can no longer be joined to the open one: that one is
            // final now rather than when this one ends (latency bound).
            try finalizeOpen(into: &out)
        }
        if p >= options.threshold {
            silenceStart = nil
        } else if p < options.exitThreshold {
            let silence = silenceStart ?? s
            silenceStart = silence
            if s + Self.chunk - silence >= minSilence {
                speechStart = nil
                silenceStart = nil
                try utteranceClosed(from: start, to: silence, into: &out)
                return
            }
        }
        if s + Self.chunk - start >= maxSpeech {
            // Too long: recognise what we have and go on with a fresh utterance.
            speechStart = s + Self.chunk
            silenceStart = nil
            try utteranceClosed(from: start, to: s + Self.chunk, into: &out)
        }
    }

    // MARK: - Decoding

    private func utteranceClosed(from start: Int, to end: Int, into out: inout Output) throws {
        guard end - start >= options.minSpeechMs * Self.perMs else { return }
        let speech = end - start
        if let o = open, start - o.pieces.last!.end <= options.maxJoinGapMs * Self.perMs,
           o.speechSamples + speech <= options.maxJoinedMs * Self.perMs {
            let pieces = o.pieces + [(start, end)]
            guard decodesEveryUtterance, let previous = o.utterance else {
                // Only final segments are read: the sentence is decoded once, when final.
                open = (nil, pieces, o.speechSamples + speech, o.prompt)
                if !mayJoin(after: nil, speechSamples: o.speechSamples + speech) { try finalizeOpen(into: &out) }
                return
            }
            // Finish the open sentence: decode its utterances again together with this one
            // (pauses as `keepPauseMs` says).
            let joined = try decode(pieces: pieces, prompt: o.prompt)
            if Self.covers(joined, pieces, sampleToMs: ms) {
                // The open utterance already stands for every fragment before it.
                let u = LiveUtterance(id: takeID(), replaces: [previous.id],
                                      startMs: ms(o.pieces[0].start), endMs: ms(end), segments: joined, isFinal: false)
                open = (u, pieces, o.speechSamples + speech, o.prompt)
                out.emitted.append(u)
                if !mayJoin(after: joined, speechSamples: o.speechSamples + speech) { try finalizeOpen(into: &out) }
                return
            }
            // The joint decode lost one of them: keep the fragment, decode this one alone.
        }
        try finalizeOpen(into: &out)
        let prompt = String(history.suffix(options.promptCharacters))
        guard decodesEveryUtterance else {
            open = (nil, [(start, end)], speech, prompt)
            if !mayJoin(after: nil, speechSamples: speech) { try finalizeOpen(into: &out) }
            return
        }
        guard let segments = try decodeAlone((start, end), prompt: prompt) else { return }
        let u = LiveUtterance(id: takeID(), replaces: [], startMs: ms(start), endMs: ms(end), segments: segments, isFinal: false)
        open = (u, [(start, end)], speech, prompt)
        out.emitted.append(u)
        if !mayJoin(after: segments, speechSamples: speech) { try finalizeOpen(into: &out) }
    }

    /// One utterance decoded on its own: with the prompt, again without it if that gives no
    /// text; nil (and reported in `unrecognized`) if it still gives none.
    private func decodeAlone(_ piece: (start: Int, end: Int), prompt: String) throws -> [TranscriptSegment]? {
        var segments = try decode(pieces: [piece], prompt: prompt)
        if segments.isEmpty && !prompt.isEmpty { segments = try decode(pieces: [piece], prompt: "") }
        guard segments.isEmpty else { return segments }
        unrecognizedCount += 1
        unrecognized.append(UnrecognizedSpeech(startMs: ms(piece.start), endMs: ms(piece.end),
            reason: "no text, also decoded without the previous text as prompt"))
        if unrecognized.count > 100 { unrecognized.removeFirst() }
        return nil
    }

    /// A sentence's utterances decoded together once; an utterance the joint decode gave no
    /// words is decoded again on its own (as the file path does with a speech region).
    /// nil when none of them gave text.
    private func decodeFinal(_ pieces: [(start: Int, end: Int)], prompt: String) throws -> LiveUtterance? {
        var segments: [TranscriptSegment]
        if pieces.count == 1 {
            segments = try decodeAlone(pieces[0], prompt: prompt) ?? []
        } else {
            segments = try decode(pieces: pieces, prompt: prompt)
            for p in pieces where !Self.covers(segments, [p], sampleToMs: ms) {
                segments += try decodeAlone(p, prompt: "") ?? []
            }
            segments.sort { $0.startMs < $1.startMs }
        }
        guard !segments.isEmpty else { return nil }
        return LiveUtterance(id: takeID(), replaces: [], startMs: ms(pieces[0].start), endMs: ms(pieces.last!.end),
                             segments: segments, isFinal: true)
    }

    /// Whether an utterance with this text (nil: not decoded yet) and speech may still be
    /// joined with the next one.
    private func mayJoin(after segments: [TranscriptSegment]?, speechSamples: Int) -> Bool {
        options.maxJoinGapMs > 0 && speechSamples + options.minSpeechMs * Self.perMs <= options.maxJoinedMs * Self.perMs
            && (options.joinAfterSentenceEnd || segments.map { !Self.endsSentence($0) } ?? true)
    }

    /// The open utterance can no longer change: it joins the prompt history and is final.
    private func finalizeOpen(into out: inout Output) throws {
        guard let o = open else { return }
        open = nil
        var u: LiveUtterance
        if let decoded = o.utterance {
            u = decoded
            u.isFinal = true
        } else {
            guard let decoded = try decodeFinal(o.pieces, prompt: o.prompt) else { return }
            u = decoded
            out.emitted.append(u)
        }
        out.final.append(u)
        let text = u.segments.map(\.text).joined()
        history = String((history + text).suffix(max(options.promptCharacters, 0)))
    }

    /// Decodes the pieces (sample ranges) joined, each padded, and returns their segments on
    /// the stream's timeline, tightened to the speech and split at pauses.
    private func decode(pieces: [(start: Int, end: Int)], prompt: String) throws -> [TranscriptSegment] {
        let pad = options.padMs * Self.perMs
        var ranges: [(start: Int, end: Int)] = []
        // Between pieces, half of `keepPauseMs` on each side: a shorter pause stays whole (the
        // two ranges overlap), a longer one keeps that much. The aligner starts the word after
        // a pause early, and with only the padding left it put the whole word before the
        // pause ("man unless" 3.7 s early, between two sentences 3 s apart).
        let innerPad = max(pad, options.keepPauseMs * Self.perMs / 2)
        for (i, p) in pieces.enumerated() {
            let lo = max(p.start - (i > 0 ? innerPad : pad), bufferStart)
            let hi = min(p.end + (i < pieces.count - 1 ? innerPad : pad), bufferStart + buffer.count)
            if let last = ranges.last, lo <= last.end { ranges[ranges.count - 1].end = max(last.end, hi) }
            else { ranges.append((lo, hi)) }
        }
        var samples: [Float] = []
        for r in ranges { samples += buffer[(r.start - bufferStart)..<(r.end - bufferStart)] }
        let result = try recognizer.recognize(samples, prompt: prompt.isEmpty ? nil : prompt, progress: nil)
        if !result.language.isEmpty { language = result.language }
        let map = SpeechTimeMap(regions: ranges.map { ($0.start, $0.end) })
        let offset = originMs!
        let restored = map.restore(result.segments).map { $0.shifted(by: offset) }
            .filter { !$0.text.trimmingCharacters(in: .whitespaces).isEmpty }
        let firstChunk = bufferStart / Self.chunk
        let edges = WordEdges(probabilities: Array(probabilities[(firstChunk - probabilityStart)...]),
                              originMs: offset + Int64(firstChunk * Self.chunk / Self.perMs))
        return edges.refine(restored)
    }

    private var probabilityStart: Int { vadPosition / Self.chunk - probabilities.count }

    private func ms(_ sample: Int) -> Int64 { originMs! + Int64(sample / Self.perMs) }

    private func takeID() -> Int {
        defer { nextID += 1 }
        return nextID
    }

    /// Whether every piece holds some recognised word (or segment, without words).
    static func covers(_ segments: [TranscriptSegment], _ pieces: [(start: Int, end: Int)], sampleToMs: (Int) -> Int64) -> Bool {
        pieces.allSatisfy { p in
            let lo = sampleToMs(p.start), hi = sampleToMs(p.end)
            return segments.contains { s in
                s.words.isEmpty ? s.startMs < hi && s.endMs > lo : s.words.contains { $0.startMs < hi && $0.endMs > lo }
            }
        }
    }

    /// Whether the text ends with a sentence mark (. ? ! …), not an abbreviation such as "Mr."
    /// nor an ellipsis (Whisper writes "He was not an..." where the speaker trails off).
    static func endsSentence(_ segments: [TranscriptSegment]) -> Bool {
        let text = segments.map(\.text).joined().trimmingCharacters(in: .whitespaces)
        let core = text.prefix { _ in true }.reversed().drop { "\"')]}”’".contains($0) }
        guard let last = core.first, ".?!。？！".contains(last) else { return false }
        if core.starts(with: "..") { return false }
        let word = text.split(separator: " ").last.map { $0.lowercased() } ?? ""
        return last != "." || !["mr.", "mrs.", "ms.", "dr.", "st.", "prof."].contains(word)
    }

    /// Drops audio no utterance can need any more: all but the padding before an open one
    /// (an utterance being heard, or a sentence that may still be joined).
    private func trim() {
        let pad = options.padMs * Self.perMs
        var keepFrom = (speechStart ?? vadPosition) - pad
        if let o = open { keepFrom = min(keepFrom, o.pieces[0].start - pad) }
        // Whole chunks, so the probabilities stay aligned with the buffer.
        keepFrom = (keepFrom / Self.chunk) * Self.chunk
        let drop = min(max(keepFrom - bufferStart, 0), buffer.count)
        if drop > 0 {
            buffer.removeFirst(drop)
            bufferStart += drop
            let dropChunks = bufferStart / Self.chunk - probabilityStart
            if dropChunks > 0 { probabilities.removeFirst(min(dropChunks, probabilities.count)) }
        }
    }
}
