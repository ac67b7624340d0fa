// Errors of the CLIP model: what failed, in which file, and what to do. CLIP is never
// fetched by Sightline (no package carries its weights), so every message points at the
// directory the user supplied in `[models] clip`.
import ModelIO

public enum CLIPError: Error, Equatable, CustomStringConvertible {
    /// A required file of the checkpoint directory is absent or unreadable.
    case missingFile(path: String)
    /// config.json or preprocessor_config.json holds a missing or impossible value.
    case invalidConfig(path: String, reason: String)
    /// A well-formed setting this implementation does not run.
    case unsupported(path: String, reason: String)
    /// tokenizer.json is not a CLIP byte-level BPE tokenizer.
    case invalidTokenizer(path: String, reason: String)
    /// The weights: a missing tensor, a wrong shape, a broken file.
    case model(ModelLoadError)
    /// A picture the image tower cannot take.
    case image(String)

    public var description: String {
        let fix = "point [models] clip at a Hugging Face CLIP directory (e.g. openai/clip-vit-base-patch32: "
            + "config.json, model.safetensors, tokenizer.json)"
        switch self {
        case let .missingFile(path): return "CLIP model file \(path) is missing or unreadable; \(fix)"
        case let .invalidConfig(path, reason): return "CLIP config \(path) is unusable: \(reason); \(fix)"
        case let .unsupported(path, reason): return "\(path): \(reason); \(fix)"
        case let .invalidTokenizer(path, reason): return "CLIP tokenizer \(path) is unusable: \(reason); \(fix)"
        case let .model(e): return e.description
        case let .image(reason): return "CLIP cannot embed this picture: \(reason)"
        }
    }
}
