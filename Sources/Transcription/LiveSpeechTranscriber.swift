// Speech recognition on a live stream, window by window. Audio goes through Silero VAD as it
// arrives; an online version of the speech-region rules (enter at p ≥ threshold, leave after
// `minSilenceMs` below the exit threshold, cut at `maxSpeechMs`) finds utterances, and each
// one is recognised as soon as it closes. Only the open utterance (plus padding) is buffered,
// so memory stays bounded on an endless stream, and silence never reaches the recogniser.
// Segment times are absolute: the time of the stream's first sample plus sample offsets.
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
    /// Audio kept on each side of an utterance.
    public var padMs = 200
    /// An utterance is cut here and recognised, so the buffer never exceeds Whisper's 30 s window.
    public var maxSpeechMs = 28_000

    public init() {}
}

public final class LiveSpeechTranscriber {
    public let recognizer: any SegmentRecognizer
    public let options: LiveSpeechOptions
    private let vad: SileroVAD
    private static let chunk = SileroVAD.chunkSamples
    private static let perMs = 16

    /// Absolute time (ms) of sample 0; set by the first feed.
    private var originMs: Int64? = nil
    /// (samples,) audio kept from sample index `bufferStart` on.
    private var buffer: [Float] = []
    private var bufferStart = 0
    /// Samples fed to the VAD so far (a multiple of the chunk size).
    private var vadPosition = 0
    private var speechStart: Int? = nil
    private var silenceStart: Int? = nil
    /// Language of the last recognised utterance.
    public private(set) var language = ""

    public init(vad weights: SileroVADWeights, recognizer: any SegmentRecognizer, options: LiveSpeechOptions = LiveSpeechOptions()) {
        self.vad = SileroVAD(weights: weights)
        self.recognizer = recognizer
        self.options = options
    }

    /// Adds the next stretch of audio (contiguous with the previous one) starting at
    /// absolute `startMs`, and returns the segments of every utterance that closed in it.
    public func feed(_ samples: [Float], startMs: Int64) throws -> [TranscriptSegment] {
        if originMs == nil { originMs = startMs }
        buffer += samples
        var out: [TranscriptSegment] = []
        let end = bufferStart + buffer.count
        while vadPosition + Self.chunk <= end {
            let from = vadPosition - bufferStart
            let p = (try? vad.probability(ofChunk: buffer[from..<from + Self.chunk])) ?? 0
            let chunkStart = vadPosition
            vadPosition += Self.chunk
            out += try step(probability: p, chunkStart: chunkStart)
        }
        trim()
        return out
    }

    /// Ends the stream: an utterance still open is recognised now.
    public func flush() throws -> [TranscriptSegment] {
        guard let start = speechStart else { return [] }
        speechStart = nil
        silenceStart = nil
        return try recognize(from: start, to: bufferStart + buffer.count)
    }

    // MARK: - Online region rules

    private func step(probability p: Float, chunkStart s: Int) throws -> [TranscriptSegment] {
        let minSilence = options.minSilenceMs * Self.perMs
        let maxSpeech = options.maxSpeechMs * Self.perMs
        guard let start = speechStart else {
            if p >= options.threshold { speechStart = s; silenceStart = nil }
            return []
        }
        if p >= options.threshold {
            silenceStart = nil
        } else if p < options.exitThreshold {
            let silence = silenceStart ?? s
            silenceStart = silence
            if s + Self.chunk - silence >= minSilence {
                speechStart = nil
                silenceStart = nil
                return try recognize(from: start, to: silence)
            }
        }
        if s + Self.chunk - start >= maxSpeech {
            // Too long: recognise what we have and go on with a fresh utterance.
            speechStart = s + Self.chunk
            silenceStart = nil
            return try recognize(from: start, to: s + Self.chunk)
        }
        return []
    }

    private func recognize(from start: Int, to end: Int) throws -> [TranscriptSegment] {
        guard end - start >= options.minSpeechMs * Self.perMs else { return [] }
        let pad = options.padMs * Self.perMs
        let lo = max(start - pad, bufferStart)
        let hi = min(end + pad, bufferStart + buffer.count)
        let samples = Array(buffer[(lo - bufferStart)..<(hi - bufferStart)])
        let result = try recognizer.recognize(samples, progress: nil)
        if !result.language.isEmpty { language = result.language }
        let offset = originMs! + Int64(lo / Self.perMs)
        let endLimit = originMs! + Int64(hi / Self.perMs)
        return result.segments.compactMap { s in
            guard !s.text.trimmingCharacters(in: .whitespaces).isEmpty else { return nil }
            var shifted = s
            shifted.startMs = min(s.startMs + offset, endLimit)
            shifted.endMs = min(max(s.endMs + offset, shifted.startMs), endLimit)
            shifted.words = s.words.map { w in
                var m = w
                m.startMs = min(w.startMs + offset, endLimit)
                m.endMs = min(max(w.endMs + offset, m.startMs), endLimit)
                return m
            }
            return shifted
        }
    }

    /// Drops audio no utterance can need any more: all but the padding before an open one.
    private func trim() {
        let keepFrom = (speechStart ?? vadPosition) - options.padMs * Self.perMs
        let drop = min(max(keepFrom - bufferStart, 0), buffer.count)
        if drop > 0 {
            buffer.removeFirst(drop)
            bufferStart += drop
        }
    }
}
