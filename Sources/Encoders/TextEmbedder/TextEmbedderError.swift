// Errors of the text embedder: what failed, in which file, and what to do.
import ModelIO

public enum TextEmbedderError: Error, Equatable, CustomStringConvertible {
    case invalidVocabulary(path: String, reason: String)
    case invalidConfig(path: String, reason: String)
    case unsupported(path: String, reason: String)
    case model(ModelLoadError)
    case kernel(String)

    public var description: String {
        switch self {
        case let .invalidVocabulary(path, reason):
            return "vocabulary \(path) is unusable: \(reason); re-fetch the model with `sightline models fetch minilm-l6-v2`"
        case let .invalidConfig(path, reason):
            return "model config \(path) is unusable: \(reason); re-fetch the model with `sightline models fetch minilm-l6-v2`"
        case let .unsupported(path, reason):
            return "\(path): \(reason); use a BERT-style sentence-transformers checkpoint (e.g. all-MiniLM-L6-v2)"
        case let .model(e):
            return e.description
        case let .kernel(reason):
            return "kernel error: \(reason)"
        }
    }
}
