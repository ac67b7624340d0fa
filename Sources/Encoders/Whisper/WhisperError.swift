// Errors of the Whisper recogniser: what failed, on which input, and what to do.
import ModelIO

public enum WhisperError: Error, Equatable, CustomStringConvertible {
    case invalidTokenizer(path: String, reason: String)
    case invalidConfig(path: String, reason: String)
    case model(ModelLoadError)
    case unknownLanguage(String)
    case translateNeedsMultilingual(model: String)
    case invalidOption(String)
    case kernel(String)

    public var description: String {
        switch self {
        case let .invalidTokenizer(path, reason):
            return "tokenizer \(path) is unusable: \(reason); re-fetch the model with `sightline models fetch`"
        case let .invalidConfig(path, reason):
            return "model config \(path) is unusable: \(reason); re-fetch the model with `sightline models fetch`"
        case let .model(e):
            return e.description
        case let .unknownLanguage(code):
            return "unknown language code \"\(code)\"; use a Whisper language code such as en, de, fr, or auto"
        case let .translateNeedsMultilingual(model):
            return "--task translate needs a multilingual model, but \(model) is English-only; use --model whisper-base"
        case let .invalidOption(reason):
            return "invalid option: \(reason)"
        case let .kernel(reason):
            return "kernel error: \(reason)"
        }
    }
}
