// Errors of the voice-activity detector: a model file that cannot be used, or audio it cannot
// take. Messages say what failed, on which input, and what to do.
import ModelIO

public enum VADError: Error, Equatable, CustomStringConvertible {
    /// The model file is missing, corrupt or not the Silero VAD 16 kHz safetensors layout.
    case model(ModelLoadError)
    /// Silero VAD runs on 16 kHz mono audio only.
    case unsupportedSampleRate(Int)
    /// A streaming chunk must be exactly `SileroVAD.chunkSamples` samples.
    case wrongChunkSize(expected: Int, got: Int)
    /// A kernel rejected its arguments (a bug in the model code, not in the input).
    case kernel(String)
    /// Region-extraction options that make no sense (negative durations, threshold outside 0...1).
    case invalidOptions(String)

    public var description: String {
        switch self {
        case .model(let error): "cannot load the Silero VAD model: \(error)"
        case .unsupportedSampleRate(let rate):
            "Silero VAD needs 16000 Hz mono audio, got \(rate) Hz; resample the audio to 16 kHz first (MediaIO does this)"
        case .wrongChunkSize(let expected, let got):
            "Silero VAD takes chunks of \(expected) samples (32 ms at 16 kHz), got \(got)"
        case .kernel(let why): "Silero VAD kernel failed: \(why); please report this as a bug"
        case .invalidOptions(let why): "invalid speech-region options: \(why)"
        }
    }
}
