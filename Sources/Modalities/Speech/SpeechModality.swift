// The `speech` modality: Silero VAD online, then Whisper on each utterance when it ends.
// Its models load once at start-up (from the models directory, per the `[models]` settings
// `speech` and `vad`) and every stream's encoder shares them; a missing or broken model
// stops start-up with a message naming the file and the command that fetches it.
// Utterances of all streams go through one PackingRecognizer: utterances that end while
// Whisper is busy share the next 30 s Whisper window (so a recogniser that falls behind
// catches up instead of paying a window per utterance), and with `[speech] pack_latency` set
// above 0 an ended utterance also waits up to that long for other streams' utterances while
// Whisper is free. A stream with `[speech] latency = "low"` is never packed, nor is any with
// pack_latency "off".
// A file read once at full speed is transcribed the file way instead (FileSpeechEncoder), on
// the same model, taking turns with the packed streams (their utterances due meanwhile are
// recognised between two of the file's Whisper windows).
import Foundation
import ModelIO
import SightlineCore
import Transcription
import VAD
import Whisper

/// The speech models, loaded; makes one `SpeechEncoder` per stream over them.
public struct PreparedSpeech: PreparedEncoder {
    let recognizer: PackingRecognizer?
    /// `[speech] pack_latency` is not "off": streams' utterances may share Whisper windows.
    let packs: Bool
    /// The same model decoding whole files (`TranscriptionOptions.file`), in turn with `recognizer`.
    let fileRecognizer: TurnTakingRecognizer?
    let vad: SileroVADWeights?
    public let modelsLoaded: [String]

    /// Recogniser calls and utterances of every live stream so far, and how many shared
    /// their call with others (packed); nil without the speech model.
    public var packing: PackingStatistics? { recognizer?.counts }

    /// The daemon's decoding of live speech (`TranscriptionOptions.live`).
    public static var liveOptions: TranscriptionOptions { .live }

    /// Loads the models `setup` names (`speech`, `vad`); nothing when speech is "none".
    public init(setup: EncoderSetup) throws {
        let dir = setup.modelsDirectory
        let speech = setup.modelName("speech")
        guard speech != "none" else {
            recognizer = nil
            packs = false
            fileRecognizer = nil
            vad = nil
            modelsLoaded = []
            return
        }
        var loaded: [String] = []
        let registry = ModelRegistry(root: dir)
        do {
            let precision = WhisperPrecision(rawValue: setup.speechPrecision) ?? .auto
            let whisper = try WhisperTranscriber(model: speech, registry: registry, beamSlots: TranscriptionOptions.live.beamSize, precision: precision)
            let packer = PackingRecognizer(WhisperRecognizer(transcriber: whisper, options: Self.liveOptions),
                                           latencyMs: setup.speechPackLatencyMs ?? 0)
            recognizer = packer
            packs = setup.speechPackLatencyMs != nil
            fileRecognizer = packer.takingTurns(WhisperRecognizer(transcriber: whisper, options: .file))
        } catch {
            throw ModelLoadFailure(description: "cannot load speech model '\(speech)' from \(dir): \(error). "
                + "Fetch it with `SIGHTLINE_MODELS=\(dir) sightline models fetch \(speech)`, "
                + "or set models.speech = \"none\".")
        }
        loaded.append(speech)
        if setup.flag("vad") {
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
        modelsLoaded = loaded
    }

    public func makeEncoder(streamId: String) throws -> (any WindowEncoder)? {
        try makeEncoder(streamId: streamId, lowLatency: false)
    }

    /// `lowLatency`: the stream's utterances are recognised alone, never packed.
    public func makeEncoder(streamId: String, lowLatency: Bool) throws -> (any WindowEncoder)? {
        guard let recognizer else { return nil }
        let vad = self.vad
        if lowLatency || !packs {
            let alone = recognizer.immediate
            return SpeechEncoder { LiveSpeechTranscriber(vad: vad, recognizer: alone) }
        }
        return SpeechEncoder(packer: recognizer) { LiveSpeechTranscriber(vad: vad, recognizer: recognizer) }
    }

    /// The encoder of a file read once at full speed: its joined speech decoded in full
    /// Whisper windows, read ahead (FileSpeechEncoder). nil without the speech model, and
    /// without the voice detector (models.vad off: there are no regions to cut the file at;
    /// the caller transcribes it as a live stream).
    public func makeFileEncoder(path: String) -> FileSpeechEncoder? {
        guard let fileRecognizer, let vad else { return nil }
        return FileSpeechEncoder(path: path, transcriber: FileTranscriber(recognizer: fileRecognizer, gate: SpeechGate(weights: vad)))
    }
}

extension EncoderDescriptor {
    /// `speech`: what is said, with word times (Silero VAD + Whisper).
    public static let speech = EncoderDescriptor(
        name: "speech", summary: "what is said, with word times (Silero VAD + Whisper)",
        input: .audio, enabledByDefault: true,
        modelSettings: [
            ModelSetting(key: "speech", kind: .choice(["whisper-base", "whisper-tiny.en", "none"]),
                         defaultValue: .name("whisper-base"),
                         help: "Speech recogniser: \"whisper-base\" (multilingual), \"whisper-tiny.en\" (fast, English) or \"none\"."),
            ModelSetting(key: "vad", kind: .flag, defaultValue: .flag(true),
                         help: "Run Silero voice-activity detection before speech recognition (skips silent windows)."),
        ],
        prepare: { try PreparedSpeech(setup: $0) })
}
