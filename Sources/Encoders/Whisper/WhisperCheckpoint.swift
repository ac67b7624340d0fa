// A Whisper model directory in either layout, read through one set of names.
//
//   CTranslate2 (the default packages): model.bin + config.json (alignment_heads,
//     suppress_ids, suppress_ids_begin, lang_ids); sizes come from the tensors and the
//     spec's num_heads scalars. The names below ARE its variable names.
//   Hugging Face (`openai/whisper-*`, transformers' save_pretrained): model.safetensors (or
//     sharded with model.safetensors.index.json) + config.json (d_model, encoder_layers,
//     encoder_attention_heads, …) + generation_config.json (alignment_heads,
//     suppress_tokens, begin_suppress_tokens, lang_to_id).
//
// The model asks for CTranslate2 names; for the Hugging Face layout each maps onto
// transformers' names, and the fused projections the kernels run (self-attention
// query|key|value, cross-attention key|value) are stacked row-wise from the separate q/k/v
// projections. transformers' k_proj has no bias, so its rows of the fused bias are zero —
// what CTranslate2's converter writes too. Both layouts scale queries by head_dim^-0.5 at
// attention time, so no weight is rescaled.
import Foundation
import Kernels
import ModelIO

struct WhisperCheckpoint {
    enum Layout: Equatable {
        case ctranslate2
        /// `prefix` is "model." for WhisperForConditionalGeneration, "" for a bare WhisperModel.
        case huggingFace(prefix: String)
    }

    let directory: URL
    let layout: Layout
    let tensors: any TensorFile
    let config: WhisperConfig

    init(directory: URL) throws {
        self.directory = directory
        let configPath = directory.appendingPathComponent("config.json").path
        let json = try Self.readJSON(configPath, required: true)
        if FileManager.default.fileExists(atPath: directory.appendingPathComponent("model.bin").path) {
            let file = try Self.modelError { () throws(ModelLoadError) in
                try CTranslate2ModelFile(path: directory.appendingPathComponent("model.bin").path)
            }
            guard file.specName == "WhisperSpec" else {
                throw WhisperError.model(.invalidModelDirectory(path: directory.path, reason: "model.bin holds a \(file.specName), not a WhisperSpec"))
            }
            layout = .ctranslate2
            tensors = file
            config = try Self.modelError { () throws(ModelLoadError) in try Self.ctranslate2Config(file, json: json) }
        } else if SafeTensorsCheckpoint.exists(in: directory) {
            let file = try Self.modelError { () throws(ModelLoadError) in try SafeTensorsCheckpoint(directory: directory) }
            let prefix = file.contains("model.encoder.conv1.weight") ? "model." : ""
            layout = .huggingFace(prefix: prefix)
            tensors = file
            let generation = try Self.readJSON(directory.appendingPathComponent("generation_config.json").path, required: false)
            config = try Self.huggingFaceConfig(json, generation: generation, configPath: configPath)
        } else {
            throw WhisperError.model(.invalidModelDirectory(
                path: directory.path,
                reason: "it has neither model.bin (CTranslate2) nor model.safetensors / model.safetensors.index.json (Hugging Face)"))
        }
    }

    // MARK: - Tensors by CTranslate2 name

    /// The tensor CTranslate2 calls `name`, checked against `shape`.
    func weight(_ name: String, shape: [Int]) throws -> WeightTensor {
        try Self.modelError { () throws(ModelLoadError) in
            guard case let .huggingFace(prefix) = layout else { return try tensors.weight(name, shape: shape) }
            let parts = try Self.huggingFaceParts(name, prefix: prefix, path: tensors.path)
            if parts.count == 1, let only = parts[0] { return try tensors.weight(only, shape: shape) }
            // Stacked rows: each part holds shape[0] / parts.count rows; a nil part is zeros.
            let partShape = [shape[0] / parts.count] + shape.dropFirst()
            var values: [Float] = []
            values.reserveCapacity(shape.reduce(1, *))
            for part in parts {
                if let part {
                    values += try tensors.floats(part, shape: partShape)
                } else {
                    values += [Float](repeating: 0, count: partShape.reduce(1, *))
                }
            }
            do {
                return try WeightTensor(shape: shape, storage: .float32(values))
            } catch {
                throw .unexpectedShape(path: tensors.path, name: name, expected: "\(shape)", found: [values.count])
            }
        }
    }

    func floats(_ name: String, shape: [Int]) throws -> [Float] { try weight(name, shape: shape).floats() }

    /// transformers' names for each block-level CTranslate2 name (after "…/layer_N/"); several
    /// names are stacked row-wise, nil stands for zeros.
    private static let blockParts: [String: [String?]] = [
        "self_attention/layer_norm/gamma": ["self_attn_layer_norm.weight"],
        "self_attention/layer_norm/beta": ["self_attn_layer_norm.bias"],
        "self_attention/linear_0/weight": ["self_attn.q_proj.weight", "self_attn.k_proj.weight", "self_attn.v_proj.weight"],
        "self_attention/linear_0/bias": ["self_attn.q_proj.bias", nil, "self_attn.v_proj.bias"],
        "self_attention/linear_1/weight": ["self_attn.out_proj.weight"],
        "self_attention/linear_1/bias": ["self_attn.out_proj.bias"],
        "attention/layer_norm/gamma": ["encoder_attn_layer_norm.weight"],
        "attention/layer_norm/beta": ["encoder_attn_layer_norm.bias"],
        "attention/linear_0/weight": ["encoder_attn.q_proj.weight"],
        "attention/linear_0/bias": ["encoder_attn.q_proj.bias"],
        "attention/linear_1/weight": ["encoder_attn.k_proj.weight", "encoder_attn.v_proj.weight"],
        "attention/linear_1/bias": [nil, "encoder_attn.v_proj.bias"],
        "attention/linear_2/weight": ["encoder_attn.out_proj.weight"],
        "attention/linear_2/bias": ["encoder_attn.out_proj.bias"],
        "ffn/layer_norm/gamma": ["final_layer_norm.weight"],
        "ffn/layer_norm/beta": ["final_layer_norm.bias"],
        "ffn/linear_0/weight": ["fc1.weight"],
        "ffn/linear_0/bias": ["fc1.bias"],
        "ffn/linear_1/weight": ["fc2.weight"],
        "ffn/linear_1/bias": ["fc2.bias"],
    ]

    /// Model-level names (outside the blocks).
    private static let topParts: [String: String] = [
        "encoder/conv1/weight": "encoder.conv1.weight",
        "encoder/conv1/bias": "encoder.conv1.bias",
        "encoder/conv2/weight": "encoder.conv2.weight",
        "encoder/conv2/bias": "encoder.conv2.bias",
        "encoder/position_encodings/encodings": "encoder.embed_positions.weight",
        "encoder/layer_norm/gamma": "encoder.layer_norm.weight",
        "encoder/layer_norm/beta": "encoder.layer_norm.bias",
        "decoder/embeddings/weight": "decoder.embed_tokens.weight",
        "decoder/position_encodings/encodings": "decoder.embed_positions.weight",
        "decoder/layer_norm/gamma": "decoder.layer_norm.weight",
        "decoder/layer_norm/beta": "decoder.layer_norm.bias",
    ]

    static func huggingFaceParts(_ name: String, prefix: String, path: String) throws(ModelLoadError) -> [String?] {
        if let top = topParts[name] { return [prefix + top] }
        // "encoder/layer_3/ffn/linear_0/weight" → side "encoder", layer 3, rest "ffn/linear_0/weight".
        let pieces = name.split(separator: "/", maxSplits: 2).map(String.init)
        if pieces.count == 3, pieces[1].hasPrefix("layer_"), let layer = Int(pieces[1].dropFirst(6)),
           let parts = blockParts[pieces[2]] {
            let base = "\(prefix)\(pieces[0]).layers.\(layer)."
            return parts.map { $0.map { base + $0 } }
        }
        throw .missingTensor(path: path, name: "\(name) (no Hugging Face equivalent)")
    }

    // MARK: - Configuration

    private static func ctranslate2Config(_ file: CTranslate2ModelFile, json: [String: Any]) throws(ModelLoadError) -> WhisperConfig {
        let emb = try file.variable("decoder/embeddings/weight")
        guard emb.shape.count == 2 else {
            throw .unexpectedShape(path: file.path, name: emb.name, expected: "(vocab, d)", found: emb.shape)
        }
        /// Size of `name` along `axis`, with the rank checked first (a wrong file must not trap).
        func dimension(_ name: String, _ axis: Int) throws(ModelLoadError) -> Int {
            let shape = try file.variable(name).shape
            guard axis < shape.count else {
                throw .unexpectedShape(path: file.path, name: name, expected: "at least \(axis + 1) dimensions", found: shape)
            }
            return shape[axis]
        }
        func countLayers(_ side: String) -> Int {
            var n = 0
            while file.contains("\(side)/layer_\(n)/ffn/linear_0/weight") { n += 1 }
            return n
        }
        return WhisperConfig(
            melCount: try dimension("encoder/conv1/weight", 1), dModel: emb.shape[1],
            encoderLayers: countLayers("encoder"), decoderLayers: countLayers("decoder"),
            encoderHeads: try file.integer("encoder/num_heads"), decoderHeads: try file.integer("decoder/num_heads"),
            vocabularySize: emb.shape[0],
            encoderPositions: try dimension("encoder/position_encodings/encodings", 0),
            decoderPositions: try dimension("decoder/position_encodings/encodings", 0),
            alignmentHeads: pairs(json["alignment_heads"]),
            suppressIDs: ints(json["suppress_ids"]),
            suppressIDsBegin: ints(json["suppress_ids_begin"]),
            languageIDs: ints(json["lang_ids"]))
    }

    private static func huggingFaceConfig(_ json: [String: Any], generation: [String: Any], configPath: String) throws -> WhisperConfig {
        func size(_ key: String) throws -> Int {
            guard let v = json[key] as? Int, v > 0 else {
                throw WhisperError.invalidConfig(path: configPath, reason: "no positive integer \"\(key)\" (is this a Whisper config.json?)")
            }
            return v
        }
        if let type = json["model_type"] as? String, type != "whisper" {
            throw WhisperError.invalidConfig(path: configPath, reason: "model_type is \"\(type)\", not \"whisper\"")
        }
        // What the kernels implement; a checkpoint that differs would load and produce nonsense.
        if let activation = json["activation_function"] as? String, activation != "gelu" {
            throw WhisperError.invalidConfig(path: configPath, reason: "activation_function \"\(activation)\" is not supported (only \"gelu\")")
        }
        if json["scale_embedding"] as? Bool == true {
            throw WhisperError.invalidConfig(path: configPath, reason: "scale_embedding = true is not supported")
        }
        let d = try size("d_model")
        for key in ["encoder_ffn_dim", "decoder_ffn_dim"] {
            if let ffn = json[key] as? Int, ffn != 4 * d {
                throw WhisperError.invalidConfig(path: configPath, reason: "\(key) \(ffn) is not 4 × d_model (\(4 * d)), as every Whisper size has")
            }
        }
        // Newer checkpoints keep the decoding metadata in generation_config.json, older ones in config.json.
        func decoding(_ key: String) -> Any? { generation[key] ?? json[key] }
        let languages = (decoding("lang_to_id") as? [String: Int]).map { Array($0.values).sorted() } ?? []
        return WhisperConfig(
            melCount: try size("num_mel_bins"), dModel: d,
            encoderLayers: try size("encoder_layers"), decoderLayers: try size("decoder_layers"),
            encoderHeads: try size("encoder_attention_heads"), decoderHeads: try size("decoder_attention_heads"),
            vocabularySize: try size("vocab_size"),
            encoderPositions: try size("max_source_positions"), decoderPositions: try size("max_target_positions"),
            alignmentHeads: pairs(decoding("alignment_heads")),
            suppressIDs: ints(decoding("suppress_tokens")),
            suppressIDsBegin: ints(decoding("begin_suppress_tokens")),
            languageIDs: languages)
    }

    private static func ints(_ value: Any?) -> [Int] { (value as? [Int]) ?? [] }

    private static func pairs(_ value: Any?) -> [(layer: Int, head: Int)] {
        ((value as? [[Int]]) ?? []).compactMap { $0.count == 2 ? ($0[0], $0[1]) : nil }
    }

    private static func readJSON(_ path: String, required: Bool) throws -> [String: Any] {
        guard let data = FileManager.default.contents(atPath: path) else {
            if required { throw WhisperError.invalidConfig(path: path, reason: "the file is missing or unreadable") }
            return [:]
        }
        guard let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw WhisperError.invalidConfig(path: path, reason: "not a JSON object")
        }
        return object
    }

    /// Runs a ModelIO step, reporting its error as the Whisper loader's.
    private static func modelError<T>(_ body: () throws(ModelLoadError) -> T) throws(WhisperError) -> T {
        do { return try body() } catch { throw .model(error) }
    }
}
