// One `sightline transcribe` run as library code: resolve the Whisper model (a registry name
// or a directory), load Silero VAD unless it is off, transcribe the input through
// FileTranscriber and render the transcript in the chosen format. Every failure is a
// TranscriptionJobError whose message names the input or model and what to do.
// Words are always aligned internally, whatever `options.wordTimestamps` says: segment and
// cue times follow the words (Whisper's segment timestamps can be a second or more off, and
// a segment can run across a pause), and cues break at pauses. Without word timestamps
// requested, the words are left out of the JSON output afterwards.
import Foundation
import ModelIO
import Subtitles
import VAD
import Whisper

public enum TranscriptionJobError: Error, CustomStringConvertible {
    case model(String)
    case vad(String)
    case transcription(TranscriptionError)
    case rendering(String)

    public var description: String {
        switch self {
        case .model(let m): return m
        case .vad(let m): return "voice activity detection model: \(m); run `sightline models fetch silero-vad` or pass --no-vad"
        case .transcription(let e): return e.description
        case .rendering(let m): return "cannot render the transcript: \(m)"
        }
    }
}

public struct TranscriptionJob {
    public var input: String
    public var model: String = ModelRegistry.defaultSpeechModel
    public var format: SubtitleFormat = .srt
    public var rules: CueRules = .broadcast
    public var vad = true
    public var options = TranscriptionOptions()
    /// Arithmetic of Whisper's encoder (`auto`: bf16 only where the CPU has AVX-512 BF16).
    public var precision = WhisperPrecision.auto
    public var registry = ModelRegistry()

    public init(input: String) { self.input = input }

    /// Loads the models, transcribes and returns the rendered output (UTF-8 text, no BOM).
    public func run(progress: (@Sendable (TranscriptionPhase) -> Void)? = nil) throws(TranscriptionJobError) -> String {
        try render(transcript(progress: progress), as: format)
    }

    /// Loads the models and transcribes, words always aligned (see the file header).
    public func transcript(progress: (@Sendable (TranscriptionPhase) -> Void)? = nil) throws(TranscriptionJobError) -> Transcript {
        let whisper: WhisperTranscriber
        do {
            whisper = try WhisperTranscriber(model: model, registry: registry, beamSlots: max(options.beamSize, options.bestOf),
                                         precision: precision)
        } catch {
            throw .model("\(error)")
        }
        var gate: SpeechGate? = nil
        var edgeWeights: SileroVADWeights? = nil
        if vad {
            do {
                gate = SpeechGate(weights: try SileroVADWeights(modelsDirectory: registry.root.path))
            } catch {
                throw .vad("\(error)")
            }
        } else {
            // Without the gate Silero still tightens word times when it is installed.
            edgeWeights = try? SileroVADWeights(modelsDirectory: registry.root.path)
        }
        var aligned = options
        aligned.wordTimestamps = true
        let transcriber = FileTranscriber(recognizer: WhisperRecognizer(transcriber: whisper, options: aligned), gate: gate,
                                          edgeWeights: edgeWeights)
        do {
            return try transcriber.transcribe(input: input, progress: progress)
        } catch {
            throw .transcription(error)
        }
    }

    /// Renders a transcript from `transcript()` in `format`: SRT and WebVTT cues from the
    /// words; JSON and text without the words unless `options.wordTimestamps`.
    public func render(_ transcript: Transcript, as format: SubtitleFormat) throws(TranscriptionJobError) -> String {
        var t = transcript
        if !options.wordTimestamps && format != .srt && format != .vtt {
            for i in t.segments.indices { t.segments[i].words = [] }
        }
        do {
            return try format.render(t, rules: rules)
        } catch {
            throw .rendering(error.description)
        }
    }
}
