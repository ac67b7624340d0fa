// Errors of the CTranslate2 reader and the model registry: which file or model, what was
// wrong, and what to do (usually: run `sightline models fetch` or fix --model).
public enum ModelLoadError: Error, Equatable, CustomStringConvertible {
    case cannotOpen(path: String, reason: String)
    case malformed(path: String, offset: Int, reason: String)
    case unsupportedVersion(path: String, version: Int)
    case missingVariable(path: String, name: String)
    case unexpectedShape(path: String, name: String, expected: String, found: [Int])
    case unsupportedDType(path: String, name: String, code: Int)
    case modelNotFound(name: String, searched: [String])
    case invalidModelDirectory(path: String, reason: String)

    public var description: String {
        switch self {
        case let .cannotOpen(path, reason):
            return "cannot open model file \(path): \(reason); run `sightline models fetch` or check --model / $SIGHTLINE_MODELS"
        case let .malformed(path, offset, reason):
            return "\(path) is not a valid CTranslate2 model.bin (at byte \(offset): \(reason)); delete it and run `sightline models fetch` again"
        case let .unsupportedVersion(path, version):
            return "\(path) is CTranslate2 model format version \(version); only version 6 is supported (re-convert with ctranslate2 >= 3)"
        case let .missingVariable(path, name):
            return "\(path) has no variable \"\(name)\"; it is not a Whisper model in the CTranslate2 layout"
        case let .unexpectedShape(path, name, expected, found):
            return "variable \"\(name)\" in \(path) has shape \(found), expected \(expected); the file does not match its config"
        case let .unsupportedDType(path, name, code):
            return "variable \"\(name)\" in \(path) has CTranslate2 dtype code \(code); only float32, float16, bfloat16 and integer scalars are supported (re-convert without int8 quantization)"
        case let .modelNotFound(name, searched):
            let known = ModelRegistry.known.map(\.name)
            let fix = known.contains(name) ? "run `sightline models fetch \(name)`" : "known models: \(known.joined(separator: ", "))"
            return "model \"\(name)\" is not installed (looked in \(searched.joined(separator: ", "))); \(fix), or pass --model DIR"
        case let .invalidModelDirectory(path, reason):
            return "\(path) is not a usable model directory: \(reason)"
        }
    }
}
