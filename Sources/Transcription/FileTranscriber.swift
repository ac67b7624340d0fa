// `sightline transcribe` as a library: decode an input's audio with MediaIO (any file or
// URL), keep only the speech (VAD gate, on by default), recognise it, and put every segment
// and word back on the media timeline. A truncated input is transcribed up to where it
// breaks; an input with no audio stream is a clear error.
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

    public init(recognizer: any SegmentRecognizer, gate: SpeechGate?) {
        self.recognizer = recognizer
        self.gate = gate
    }

    public func transcribe(input: String, progress: (@Sendable (TranscriptionPhase) -> Void)? = nil) throws(TranscriptionError) -> Transcript {
        let samples = try decodeAudio(input, progress: progress)
        let speech: [Float]
        var map: SpeechTimeMap? = nil
        if let gate {
            let gated: GatedSpeech
            do { gated = try gate.gate(samples) } catch { throw .vad(error) }
            speech = gated.samples
            map = gated.map
        } else {
            speech = samples
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
            throw .recognizer(input: input, underlying: error)
        }
        let segments = map.map { $0.restore(recognized.segments) } ?? recognized.segments
        return Transcript(language: recognized.language, model: recognizer.modelName,
                          segments: segments.filter { !$0.text.trimmingCharacters(in: .whitespaces).isEmpty })
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
