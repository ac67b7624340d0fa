// Errors of the model-file readers (CTranslate2 model.bin, safetensors, ONNX, GraphDef) and the model
// registry. Each names the file, the tensor where there is one, what was wrong and what to
// do, so a bad or half-downloaded model is diagnosed from the message alone.
public enum ModelLoadError: Error, Equatable, CustomStringConvertible {
    case cannotOpen(path: String, reason: String)
    /// The bytes do not follow `format` ("CTranslate2 model.bin", "safetensors").
    case malformed(path: String, format: String, reason: String)
    case unsupportedVersion(path: String, version: Int)
    case missingTensor(path: String, name: String)
    case unexpectedShape(path: String, name: String, expected: String, found: [Int])
    case unsupportedDType(path: String, name: String, dtype: String)
    case modelNotFound(name: String, searched: [String])
    case invalidModelDirectory(path: String, reason: String)
    /// A graph node (ONNX / GraphDef) the interpreter that loads it cannot run.
    case unsupportedOperator(path: String, node: String, op: String, reason: String)

    public var description: String {
        switch self {
        case let .cannotOpen(path, reason):
            return "cannot open model file \(path): \(reason); run `sightline models fetch` or check --model / $SIGHTLINE_MODELS"
        case let .malformed(path, format, reason):
            return "\(path) is not a valid \(format) file (\(reason)); delete it and fetch the model again (`sightline models fetch`)"
        case let .unsupportedVersion(path, version):
            return "\(path) is CTranslate2 model format version \(version); only version 6 is supported (re-convert with ctranslate2 >= 3)"
        case let .missingTensor(path, name):
            return "\(path) has no tensor \"\(name)\"; it is not the model this loader expects"
        case let .unexpectedShape(path, name, expected, found):
            return "tensor \"\(name)\" in \(path) has shape \(found), expected \(expected); the file does not match its config"
        case let .unsupportedDType(path, name, dtype):
            return "tensor \"\(name)\" in \(path) has dtype \(dtype); only float32, float16 and bfloat16 weights (and integer scalars) are supported — re-convert without int8 quantization"
        case let .modelNotFound(name, searched):
            let known = ModelRegistry.known.map(\.name)
            let fix = known.contains(name) ? "run `sightline models fetch \(name)`" : "known models: \(known.joined(separator: ", "))"
            return "model \"\(name)\" is not installed (looked in \(searched.joined(separator: ", "))); \(fix), or pass --model DIR"
        case let .invalidModelDirectory(path, reason):
            return "\(path) is not a usable model directory: \(reason)"
        case let .unsupportedOperator(path, node, op, reason):
            return "\(path): node \"\(node)\" uses operator \(op), which is not supported (\(reason)); the model is not the one this loader expects"
        }
    }
}
