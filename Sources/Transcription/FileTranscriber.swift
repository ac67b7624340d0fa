// `sightline transcribe` as a library: decode an input's audio with MediaIO (any file or
// URL), keep only the speech (VAD gate, on by default), recognise it, and put every segment
// and word back on the media timeline. A truncated input is transcribed up to where it
// breaks; an input with no audio stream is a clear error.
import SpokenWords
import Foundation
import MediaIO
import Subtitles
import VAD

public enum TranscriptionError: Error, CustomStringConvertible {
    case media(MediaError)
    case vad(VADError)
    case recognizer(input: String, underlying: any Error)

    public var description: String {
        switch self {
        case .media(.noUsableStream(let input, _)):
            return "'\(input)' has no audio stream, so there is nothing to transcribe."
        case .media(let e): return e.description
        case .vad(let e): return "voice activity detection failed: \(e)"
        case .recognizer(let input, let e): return "speech recognition failed on '\(input)': \(e)"
        }
    }
}

/// Where a transcription is: decoding the input, or recognising speech.
public enum TranscriptionPhase: Sendable, Equatable {
    case decoding(doneMs: Int64, totalMs: Int64?)
    case recognizing(doneMs: Int64, totalMs: Int64)
}

public final class FileTranscriber {
    public let recognizer: any SegmentRecognizer
    /// nil: VAD off, the whole audio goes to the recogniser.
    public let gate: SpeechGate?
    /// With the gate off, Silero weights used only to tighten word times to the speech
    /// (see WordEdges); nil: word times stay as aligned. With the gate on, its VAD is used.
    public let edgeWeights: SileroVADWeights?

    public init(recognizer: any SegmentRecognizer, gate: SpeechGate?, edgeWeights: SileroVADWeights? = nil) {
        self.recognizer = recognizer
        self.gate = gate
        self.edgeWeights = edgeWeights
    }

    public func transcribe(input: String, progress: (@Sendable (TranscriptionPhase) -> Void)? = nil) throws(TranscriptionError) -> Transcript {
        let samples = try decodeAudio(input, progress: progress)
        return try transcribe(samples: samples, name: input, progress: progress)
    }

    /// Transcribes 16 kHz mono samples (media time 0 at the first); `name` is used in errors.
    /// `speechProbabilities`: the gate's VAD already run over these samples (one value per
    /// 512-sample chunk from the first), so it is not run again.
    public func transcribe(samples: [Float], name: String = "audio", speechProbabilities: [Float]? = nil,
                           progress: (@Sendable (TranscriptionPhase) -> Void)? = nil) throws(TranscriptionError) -> Transcript {
        let speech: [Float]
        var map: SpeechTimeMap? = nil
        var probabilities: [Float]? = nil
        if let gate {
            let gated: GatedSpeech
            do throws(VADError) {
                if let speechProbabilities {
                    gated = try gate.gate(samples, probabilities: speechProbabilities)
                } else {
                    gated = try gate.gate(samples)
                }
            } catch { throw .vad(error) }
            speech = gated.samples
            map = gated.map
            probabilities = gated.probabilities
        } else {
            speech = samples
            probabilities = edgeWeights.map { SileroVAD(weights: $0).probabilities(of: samples) }
        }
        guard !speech.isEmpty else {
            return Transcript(language: "", model: recognizer.modelName, segments: [])
        }
        let recognized: RecognizedSpeech
        do {
            recognized = try recognizer.recognize(speech) { done, total in
                progress?(.recognizing(doneMs: done, totalMs: total))
            }
        } catch {
            throw .recognizer(input: name, underlying: error)
        }
        var segments = (map.map { $0.restore(recognized.segments) } ?? recognized.segments.map(\.fittedToWords))
            .filter { !$0.text.trimmingCharacters(in: .whitespaces).isEmpty }
        var unrecognized: [UnrecognizedSpeech] = []
        if let map {
            // A region the joined decode left without text (Whisper can skip a short utterance
            // between long ones) is decoded again on its own; one that still gives nothing is
            // reported. So is a stretch of speech inside a region that no word covers (a
            // sentence after a short pause, merged into its neighbour's region). Speech with
            // text costs nothing here.
            var missing = map.pieces.filter { !Self.hasText(segments, in: $0, sampleRate: map.sampleRate) }
                .map { ($0.originalStart, $0.originalEnd) }
            if let probabilities {
                missing += Self.uncoveredSpeech(segments, probabilities: probabilities, sampleCount: samples.count)
                    .filter { s in !missing.contains { $0.0 < s.end && s.start < $0.1 } }
                    .map { ($0.start, $0.end) }
            }
            for (from, to) in missing.sorted(by: { $0.0 < $1.0 }) {
                let region = Array(samples[from..<to])
                let startMs = Int64(from) * 1000 / Int64(map.sampleRate)
                let endMs = Int64(to) * 1000 / Int64(map.sampleRate)
                let alone: RecognizedSpeech
                do { alone = try recognizer.recognize(region, progress: nil) } catch {
                    throw .recognizer(input: name, underlying: error)
                }
                let found = alone.segments.filter { !$0.text.trimmingCharacters(in: .whitespaces).isEmpty }
                    .map { $0.shifted(by: startMs).fittedToWords }
                if found.isEmpty {
                    unrecognized.append(UnrecognizedSpeech(startMs: startMs, endMs: endMs,
                        reason: "no text, also when decoded on its own (silence, noise or speech the model rejects as no-speech)"))
                } else {
                    segments += found
                }
            }
            segments.sort { $0.startMs < $1.startMs }
        }
        if let probabilities { segments = WordEdges(probabilities: probabilities).refine(segments) }
        return Transcript(language: recognized.language, model: recognizer.modelName, segments: segments,
                          unrecognized: unrecognized)
    }

    /// Whether any segment (or word, when there are words) overlaps the piece's original span.
    static func hasText(_ segments: [TranscriptSegment], in piece: SpeechTimeMap.Piece, sampleRate: Int) -> Bool {
        let lo = Int64(piece.originalStart) * 1000 / Int64(sampleRate)
        let hi = Int64(piece.originalEnd) * 1000 / Int64(sampleRate)
        return segments.contains { s in
            s.words.isEmpty ? s.startMs < hi && s.endMs > lo : s.words.contains { $0.startMs < hi && $0.endMs > lo }
        }
    }

    /// Stretches of speech (Silero chunks at p ≥ 0.5, gaps under 300 ms bridged) of at least
    /// `minMs` that no word overlaps, padded by 200 ms; none when the segments have no words
    /// (then only whole regions are checked).
    static func uncoveredSpeech(_ segments: [TranscriptSegment], probabilities: [Float], sampleCount: Int,
                                minMs: Int64 = 1000) -> [(start: Int, end: Int)] {
        let words = segments.flatMap(\.words)
        guard !words.isEmpty else { return [] }
        let chunk = SileroVAD.chunkSamples, perMs = 16
        var runs: [(start: Int, end: Int)] = []
        for (i, p) in probabilities.enumerated() where p >= 0.5 {
            let a = i * chunk, b = min((i + 1) * chunk, sampleCount)
            if let r = runs.last, a - r.end < 300 * perMs { runs[runs.count - 1].end = b } else { runs.append((a, b)) }
        }
        let pad = 200 * perMs
        return runs.filter { r in
            let lo = Int64(r.start / perMs), hi = Int64(r.end / perMs)
            return hi - lo >= minMs && !words.contains { $0.startMs < hi && $0.endMs > lo }
        }.map { (max(0, $0.start - pad), min(sampleCount, $0.end + pad)) }
    }

    /// All of the input's audio as 16 kHz mono, starting at media time 0.
    private func decodeAudio(_ input: String, progress: (@Sendable (TranscriptionPhase) -> Void)?) throws(TranscriptionError) -> [Float] {
        var options = MediaOptions()
        options.decodeVideo = false
        options.windowMs = 10_000
        do {
            let source = try MediaSource(input: input, options: options)
            var samples: [Float] = []
            if let ms = source.info.durationMs { samples.reserveCapacity(Int(ms) * AudioFormat.samplesPerMs) }
            while let w = try source.nextWindow() {
                samples += w.audio
                progress?(.decoding(doneMs: w.endMs, totalMs: source.info.durationMs))
            }
            return samples
        } catch {
            throw .media(error)
        }
    }
}
