// Where models live and which ones Sightline knows: `$SIGHTLINE_MODELS` (default
// ~/.cache/sightline/models), one directory per model name (`whisper-base`,
// `whisper-tiny.en`, `silero-vad`, `minilm-l6-v2`), filled by Scripts/fetch-models. A `--model` argument may
// be a known name or a directory path (for speech, a CTranslate2 or Hugging Face Whisper
// directory).
import Foundation

public struct ModelRegistry: Sendable {
    public struct Entry: Sendable, Equatable {
        public let name: String
        public let role: String
        /// Files that must be present for the model to count as installed.
        public let files: [String]
    }

    public static let known: [Entry] = [
        Entry(name: "whisper-base", role: "speech (default, multilingual)",
              files: ["model.bin", "config.json", "tokenizer.json", "vocabulary.txt"]),
        Entry(name: "whisper-tiny.en", role: "speech (fast, English only)",
              files: ["model.bin", "config.json", "tokenizer.json", "vocabulary.txt"]),
        Entry(name: "silero-vad", role: "voice activity", files: ["silero_vad_16k.safetensors"]),
        Entry(name: "mobilenet-v2", role: "image labels (ImageNet-1k)", files: ["mobilenet_v2-b0353104.pth"]),
        Entry(name: "mtcnn", role: "faces (boxes, landmarks)", files: ["pnet.pt", "rnet.pt", "onet.pt"]),
        Entry(name: "minilm-l6-v2", role: "text embedding",
              files: ["model.safetensors", "config.json", "vocab.txt", "tokenizer_config.json", "sentence_bert_config.json"]),
        Entry(name: "ppocr-v5-mobile", role: "on-screen text (PP-OCRv5 mobile)",
              files: ["ppocrv5_det.onnx", "ppocrv5_cls.onnx", "ppocrv5_rec.onnx", "ppocr_keys_v5.txt"]),
        Entry(name: "ssdlite-person", role: "people (boxes, count)", files: ["frozen_inference_graph.pb"]),
    ]

    public static let defaultSpeechModel = "whisper-base"

    public let root: URL

    /// `explicitRoot`, else $SIGHTLINE_MODELS, else ~/.cache/sightline/models.
    public init(root explicitRoot: String? = nil, environment: [String: String] = ProcessInfo.processInfo.environment) {
        if let explicitRoot {
            root = URL(fileURLWithPath: explicitRoot)
        } else if let env = environment["SIGHTLINE_MODELS"], !env.isEmpty {
            root = URL(fileURLWithPath: env)
        } else {
            let home = environment["HOME"] ?? FileManager.default.homeDirectoryForCurrentUser.path
            root = URL(fileURLWithPath: home).appendingPathComponent(".cache/sightline/models")
        }
    }

    public func directory(of name: String) -> URL { root.appendingPathComponent(name) }

    public func isInstalled(_ entry: Entry) -> Bool {
        entry.files.allSatisfy { FileManager.default.fileExists(atPath: directory(of: entry.name).appendingPathComponent($0).path) }
    }

    /// A model name from `known` or a path to a directory holding `requiredFiles`.
    public func resolve(_ nameOrPath: String, requiredFiles: [String]) throws(ModelLoadError) -> URL {
        var isDir: ObjCBool = false
        let looksLikePath = nameOrPath.contains("/") || nameOrPath.hasPrefix(".")
        let candidate = looksLikePath ? URL(fileURLWithPath: nameOrPath) : directory(of: nameOrPath)
        guard FileManager.default.fileExists(atPath: candidate.path, isDirectory: &isDir) else {
            if looksLikePath {
                throw .invalidModelDirectory(path: candidate.path, reason: "it does not exist")
            }
            throw .modelNotFound(name: nameOrPath, searched: [candidate.path])
        }
        guard isDir.boolValue else { throw .invalidModelDirectory(path: candidate.path, reason: "it is not a directory") }
        let missing = requiredFiles.filter { !FileManager.default.fileExists(atPath: candidate.appendingPathComponent($0).path) }
        guard missing.isEmpty else {
            throw .invalidModelDirectory(path: candidate.path, reason: "missing \(missing.joined(separator: ", ")); "
                + (looksLikePath ? "point --model at a model directory that has them" : "run `sightline models fetch \(nameOrPath)`"))
        }
        return candidate
    }
}
