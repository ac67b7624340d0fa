// Errors of the model-file readers. Each names the file, the tensor where there is one, what
// was wrong and what to do, so a bad or half-downloaded model is diagnosed from the message.
public enum ModelIOError: Error, Equatable, CustomStringConvertible {
    case cannotRead(path: String, reason: String)
    case malformed(path: String, reason: String)
    case missingTensor(path: String, name: String)
    case shapeMismatch(path: String, name: String, expected: [Int], found: [Int])
    case unsupportedDType(path: String, name: String, dtype: String)

    public var description: String {
        switch self {
        case .cannotRead(let path, let reason):
            "cannot read model file \(path): \(reason); run Scripts/fetch-models or check $SIGHTLINE_MODELS"
        case .malformed(let path, let reason):
            "model file \(path) is not a valid safetensors file: \(reason); delete it and run Scripts/fetch-models again"
        case .missingTensor(let path, let name):
            "model file \(path) has no tensor \"\(name)\"; it is not the model this loader expects"
        case .shapeMismatch(let path, let name, let expected, let found):
            "tensor \"\(name)\" in \(path) has shape \(found), expected \(expected); it is not the model this loader expects"
        case .unsupportedDType(let path, let name, let dtype):
            "tensor \"\(name)\" in \(path) has dtype \(dtype); only F32, F16 and BF16 are supported"
        }
    }
}
