// The encoder factory `sightline serve` uses: loads the configured models once at start-up
// (Whisper and Silero VAD from `paths.models_dir`), then gives each stream its own encoders
// (per-stream state) on the shared models. Missing or broken model files stop start-up with
// a message naming the file and the command that fetches it, before READY=1.
import Foundation
import Kernels
import Logging
import ModelIO
import Transcription
import VAD
import Whisper

public struct ModelLoadFailure: Error, CustomStringConvertible {
    public var description: String
}

public struct ModelEncoders: EncoderFactory {
    let builtins = BuiltinEncoders()
    let recognizer: SharedRecognizer?
    let vad: SileroVADWeights?
    public let modelsLoaded: [String]

    /// Decoding for live speech: greedy with the temperature fallback (beam search costs
    /// about 3x the decoder time, which two cores need for keeping up with live streams),
    /// word timestamps on so every word is searchable with its own time.
    public static var liveOptions: TranscriptionOptions {
        var o = TranscriptionOptions()
        o.beamSize = 1
        o.bestOf = 1
        o.wordTimestamps = true
        o.conditionOnPreviousText = false
        return o
    }

    public init(config: DaemonConfig) throws {
        let dir = config.paths.modelsDir
        var loaded: [String] = []
        if config.models.speech == "none" {
            recognizer = nil
            vad = nil
        } else {
            let registry = ModelRegistry(root: dir)
            do {
                let whisper = try WhisperTranscriber(model: config.models.speech, registry: registry, beamSlots: 1)
                recognizer = SharedRecognizer(WhisperRecognizer(transcriber: whisper, options: Self.liveOptions))
            } catch {
                throw ModelLoadFailure(description: "cannot load speech model '\(config.models.speech)' from \(dir): \(error). "
                    + "Fetch it with `SIGHTLINE_MODELS=\(dir) sightline models fetch \(config.models.speech)`, "
                    + "or set models.speech = \"none\".")
            }
            loaded.append(config.models.speech)
            if config.models.vad {
                do {
                    vad = try SileroVADWeights(modelsDirectory: dir)
                } catch {
                    throw ModelLoadFailure(description: "cannot load the voice-activity model from \(dir): \(error). "
                        + "Fetch it with `SIGHTLINE_MODELS=\(dir) sightline models fetch silero-vad`, or set models.vad = false.")
                }
                loaded.append("silero-vad")
            } else {
                vad = nil
            }
        }
        modelsLoaded = loaded
    }

    /// Sizes the kernel pool from `threads.kernel` (before any model touches it), then loads.
    public static func load(config: DaemonConfig, logger: Logger) throws -> ModelEncoders {
        if config.threads.kernel > 0 { try ThreadPool.configureShared(threads: config.threads.kernel) }
        let started = Date()
        let encoders = try ModelEncoders(config: config)
        logger.info("models loaded", metadata: ["models": "\(encoders.modelsLoaded.joined(separator: ","))",
                                                "models.dir": "\(config.paths.modelsDir)",
                                                "load.ms": "\(Int(Date().timeIntervalSince(started) * 1000))"])
        return encoders
    }

    public func makeEncoders(for stream: StreamConfig) throws -> [any WindowEncoder] {
        var encoders = try builtins.makeEncoders(for: stream)
        if stream.modalities.speech, let recognizer {
            let vad = self.vad
            encoders.append(SpeechEncoder { LiveSpeechTranscriber(vad: vad, recognizer: recognizer) })
        }
        return encoders
    }
}
