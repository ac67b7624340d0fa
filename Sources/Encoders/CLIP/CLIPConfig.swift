// The blueprint of a CLIP checkpoint, from transformers' config.json (CLIPConfig: a
// `text_config` and a `vision_config` beside `projection_dim`) and, when present,
// preprocessor_config.json (CLIPImageProcessor's resize, crop, mean and std). Values absent
// from config.json take transformers' CLIPTextConfig / CLIPVisionConfig defaults, which are
// the ViT-B/32 sizes; a value present but impossible is an error naming the file and key.
import Foundation

/// What both towers' transformers share.
public struct CLIPEncoderConfig: Sendable, Equatable {
    public var hiddenSize: Int          // hidden_size (d)
    public var layers: Int              // num_hidden_layers
    public var heads: Int               // num_attention_heads
    public var intermediateSize: Int    // intermediate_size
    public var layerNormEps: Float      // layer_norm_eps
    public var activation: CLIPActivation // hidden_act
    public var headDim: Int { hiddenSize / heads }
}

/// The feed-forward activations CLIP checkpoints use.
public enum CLIPActivation: String, Sendable, Equatable {
    /// x · sigmoid(1.702 x), OpenAI's CLIP.
    case quickGelu = "quick_gelu"
    case gelu = "gelu"
    case geluTanh = "gelu_pytorch_tanh"
}

public struct CLIPTextConfig: Sendable, Equatable {
    public var encoder: CLIPEncoderConfig
    public var vocabularySize: Int      // vocab_size
    public var maxPositions: Int        // max_position_embeddings (77)
    /// eos_token_id. transformers pools at the highest id of each sequence when it is 2 (the
    /// value the original checkpoints' configs carry, whose <|endoftext|> is the last id) and
    /// at the first <|endoftext|> otherwise; `pooledAtArgmax` records which.
    public var eosTokenId: Int
    public var pooledAtArgmax: Bool { eosTokenId == 2 }
}

public struct CLIPVisionConfig: Sendable, Equatable {
    public var encoder: CLIPEncoderConfig
    public var imageSize: Int           // image_size (224)
    public var patchSize: Int           // patch_size (32)
    public var channels: Int            // num_channels (3)
    public var patchesPerSide: Int { imageSize / patchSize }
    /// Patches plus the class token.
    public var positions: Int { patchesPerSide * patchesPerSide + 1 }
}

/// CLIPImageProcessor's settings: shorter side resized to `shortestEdge` (bicubic), a
/// `cropSize` square cut from the centre, bytes / 255, then (x - mean) / std per channel.
public struct CLIPImageSettings: Sendable, Equatable {
    public var shortestEdge: Int
    public var cropSize: Int
    public var mean: [Float]            // (3) RGB
    public var std: [Float]             // (3) RGB

    /// OpenAI's values for a `size` × `size` model.
    public static func openAI(size: Int) -> CLIPImageSettings {
        CLIPImageSettings(shortestEdge: size, cropSize: size, mean: [0.481_454_66, 0.457_827_5, 0.408_210_73],
                          std: [0.268_629_54, 0.261_302_58, 0.275_777_11])
    }
}

public struct CLIPConfig: Sendable, Equatable {
    public static let configFile = "config.json"
    public static let preprocessorFile = "preprocessor_config.json"

    public var text: CLIPTextConfig
    public var vision: CLIPVisionConfig
    public var projectionDim: Int       // projection_dim (512 for ViT-B/32)
    public var image: CLIPImageSettings

    /// Reads `directory/config.json` and, if there, `directory/preprocessor_config.json`.
    public init(directory: URL) throws(CLIPError) {
        let path = directory.appendingPathComponent(Self.configFile).path
        let json = try Self.object(path, required: true) ?? [:]
        if let type = json["model_type"] as? String, type != "clip" {
            throw .unsupported(path: path, reason: "model_type \"\(type)\" is not a CLIP model")
        }
        guard let textJSON = json["text_config"] as? [String: Any], let visionJSON = json["vision_config"] as? [String: Any] else {
            throw .invalidConfig(path: path, reason: "\"text_config\" and \"vision_config\" objects are required (a CLIPConfig)")
        }
        let t = Reader(path: path, json: textJSON, scope: "text_config."), v = Reader(path: path, json: visionJSON, scope: "vision_config.")
        text = CLIPTextConfig(
            encoder: try t.encoder(hidden: 512, layers: 12, heads: 8, intermediate: 2048),
            vocabularySize: try t.int("vocab_size", 49408), maxPositions: try t.int("max_position_embeddings", 77),
            eosTokenId: try t.int("eos_token_id", 49407, allowZero: true))
        vision = CLIPVisionConfig(
            encoder: try v.encoder(hidden: 768, layers: 12, heads: 12, intermediate: 3072),
            imageSize: try v.int("image_size", 224), patchSize: try v.int("patch_size", 32), channels: try v.int("num_channels", 3))
        projectionDim = try Reader(path: path, json: json, scope: "").int("projection_dim", 512)
        guard vision.channels == 3 else { throw .unsupported(path: path, reason: "vision_config.num_channels \(vision.channels) (RGB, 3, is supported)") }
        guard vision.imageSize % vision.patchSize == 0 else {
            throw .invalidConfig(path: path, reason: "vision_config.image_size \(vision.imageSize) is not a multiple of patch_size \(vision.patchSize)")
        }
        image = try Self.imageSettings(directory.appendingPathComponent(Self.preprocessorFile).path, size: vision.imageSize)
    }

    // MARK: - Reading

    private struct Reader {
        let path: String, json: [String: Any], scope: String

        func int(_ key: String, _ fallback: Int, allowZero: Bool = false) throws(CLIPError) -> Int {
            guard let value = json[key], !(value is NSNull) else { return fallback }
            guard let n = value as? NSNumber, let i = Int(exactly: n.doubleValue), i >= (allowZero ? 0 : 1), i <= 1 << 24 else {
                throw .invalidConfig(path: path, reason: "\"\(scope)\(key)\" must be a positive integer, found \(value)")
            }
            return i
        }

        func encoder(hidden: Int, layers: Int, heads: Int, intermediate: Int) throws(CLIPError) -> CLIPEncoderConfig {
            let d = try int("hidden_size", hidden), h = try int("num_attention_heads", heads)
            guard d % h == 0 else {
                throw .invalidConfig(path: path, reason: "\(scope)hidden_size \(d) is not a multiple of num_attention_heads \(h)")
            }
            let eps = (json["layer_norm_eps"] as? NSNumber)?.doubleValue ?? 1e-5
            guard eps > 0, eps < 1 else { throw .invalidConfig(path: path, reason: "\(scope)layer_norm_eps \(eps) is not in (0, 1)") }
            let act = (json["hidden_act"] as? String) ?? "quick_gelu"
            let activation: CLIPActivation
            switch act {
            case "quick_gelu": activation = .quickGelu
            case "gelu": activation = .gelu
            case "gelu_new", "gelu_pytorch_tanh": activation = .geluTanh
            default: throw .unsupported(path: path, reason: "\(scope)hidden_act \"\(act)\" (quick_gelu, gelu, gelu_new are supported)")
            }
            return CLIPEncoderConfig(hiddenSize: d, layers: try int("num_hidden_layers", layers), heads: h,
                                     intermediateSize: try int("intermediate_size", intermediate), layerNormEps: Float(eps),
                                     activation: activation)
        }
    }

    static func object(_ path: String, required: Bool) throws(CLIPError) -> [String: Any]? {
        guard let data = FileManager.default.contents(atPath: path) else {
            if required { throw .missingFile(path: path) }
            return nil
        }
        guard let json = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
            throw .invalidConfig(path: path, reason: "not a JSON object")
        }
        return json
    }

    /// preprocessor_config.json's resize / crop / normalisation, OpenAI's values without it.
    /// Only the pipeline CLIP uses is run (bicubic resize, centre crop, rescale by 1/255,
    /// normalise); a file that turns a step off or asks for another filter is refused rather
    /// than silently run differently.
    static func imageSettings(_ path: String, size: Int) throws(CLIPError) -> CLIPImageSettings {
        var s = CLIPImageSettings.openAI(size: size)
        guard let json = try object(path, required: false) else { return s }
        for key in ["do_resize", "do_center_crop", "do_rescale", "do_normalize"] {
            if let on = json[key] as? Bool, !on { throw .unsupported(path: path, reason: "\(key) false (every step of CLIP's preprocessing is run)") }
        }
        if let resample = json["resample"] as? NSNumber, resample.intValue != 3 {
            throw .unsupported(path: path, reason: "resample \(resample) (3, bicubic, is supported)")
        }
        if let factor = (json["rescale_factor"] as? NSNumber)?.doubleValue, abs(factor - 1.0 / 255) > 1e-9 {
            throw .unsupported(path: path, reason: "rescale_factor \(factor) (1/255 is supported)")
        }
        func side(_ value: Any?, keys: [String]) throws(CLIPError) -> Int? {
            guard let value else { return nil }
            if let n = value as? NSNumber { return n.intValue }
            guard let d = value as? [String: Any] else { throw .invalidConfig(path: path, reason: "a size is neither a number nor an object") }
            let sides = keys.compactMap { (d[$0] as? NSNumber)?.intValue }
            guard let first = sides.first, sides.allSatisfy({ $0 == first }) else {
                throw .unsupported(path: path, reason: "size \(d) (a square crop or a shortest_edge resize is supported)")
            }
            return first
        }
        if let edge = try side(json["size"], keys: ["shortest_edge", "height", "width"]) { s.shortestEdge = edge }
        if let crop = try side(json["crop_size"], keys: ["height", "width"]) { s.cropSize = crop }
        guard s.cropSize == size else {
            throw .invalidConfig(path: path, reason: "crop_size \(s.cropSize) differs from the model's image_size \(size)")
        }
        guard s.shortestEdge >= s.cropSize, s.shortestEdge <= 4096 else {
            throw .unsupported(path: path, reason: "size \(s.shortestEdge) with crop \(s.cropSize) (the resize must cover the crop)")
        }
        for key in ["image_mean", "image_std"] {
            guard let value = json[key] else { continue }
            guard let list = value as? [NSNumber], list.count == 3 else { throw .invalidConfig(path: path, reason: "\(key) must hold 3 numbers") }
            let floats = list.map { $0.floatValue }
            if key == "image_std", floats.contains(where: { !($0 > 0) }) { throw .invalidConfig(path: path, reason: "image_std must be positive") }
            if key == "image_mean" { s.mean = floats } else { s.std = floats }
        }
        return s
    }
}
