// The CTranslate2 reader on a small file written here in the documented layout, on
// truncated / wrong-version files, and on the real tiny.en checkpoint; and the registry.
import Foundation
import Kernels
@testable import ModelIO
import TestSupport
import XCTest

final class CTranslate2ModelFileTests: XCTestCase {
    private func tmp(_ name: String) -> String { NSTemporaryDirectory() + "sightline-\(name)-\(getpid())" }

    /// version 6, spec, revision, two variables (f16 matrix, i16 scalar), one alias.
    private func sampleFile(version: UInt32 = 6) -> Data {
        var d = Data()
        func u32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { d.append(contentsOf: $0) } }
        func u16(_ v: UInt16) { withUnsafeBytes(of: v.littleEndian) { d.append(contentsOf: $0) } }
        func str(_ s: String) { u16(UInt16(s.utf8.count + 1)); d.append(contentsOf: Array(s.utf8) + [0]) }
        u32(version); str("WhisperSpec"); u32(3); u32(2)
        str("decoder/embeddings/weight"); d.append(2); u32(2); u32(3); d.append(4); u32(12)
        for h: UInt16 in [0x3C00, 0x4000, 0xC000, 0x3800, 0x0000, 0x7BFF] { u16(h) } // 1, 2, -2, 0.5, 0, 65504
        str("decoder/num_heads"); d.append(0); d.append(2); u32(2); u16(8)
        u32(1); str("decoder/projection/weight"); str("decoder/embeddings/weight")
        return d
    }

    func testReadsVariablesScalarsAndAliases() throws {
        let path = tmp("ct2")
        try sampleFile().write(to: URL(fileURLWithPath: path))
        defer { try? FileManager.default.removeItem(atPath: path) }
        let f = try CTranslate2ModelFile(path: path)
        XCTAssertEqual(f.specName, "WhisperSpec")
        XCTAssertEqual(f.specRevision, 3)
        XCTAssertEqual(try f.floats("decoder/embeddings/weight", shape: [2, 3]), [1, 2, -2, 0.5, 0, 65504])
        XCTAssertEqual(try f.floats("decoder/projection/weight"), [1, 2, -2, 0.5, 0, 65504])
        XCTAssertEqual(try f.integer("decoder/num_heads"), 8)
        XCTAssertThrowsError(try f.floats("decoder/embeddings/weight", shape: [3, 2])) { e in
            guard case ModelLoadError.unexpectedShape(_, "decoder/embeddings/weight", _, [2, 3]) = e else { return XCTFail("\(e)") }
        }
        XCTAssertThrowsError(try f.variable("nope")) { e in XCTAssertEqual(e as? ModelLoadError, .missingTensor(path: path, name: "nope")) }
    }

    func testRejectsTruncatedAndWrongVersion() throws {
        let path = tmp("ct2bad")
        defer { try? FileManager.default.removeItem(atPath: path) }
        try sampleFile().prefix(40).write(to: URL(fileURLWithPath: path))
        XCTAssertThrowsError(try CTranslate2ModelFile(path: path)) { e in
            guard case ModelLoadError.malformed(path, "CTranslate2 model.bin", let reason) = e else { return XCTFail("\(e)") }
            XCTAssertTrue(reason.contains("truncated"), reason)
        }
        try sampleFile(version: 5).write(to: URL(fileURLWithPath: path))
        XCTAssertThrowsError(try CTranslate2ModelFile(path: path)) { e in XCTAssertEqual(e as? ModelLoadError, .unsupportedVersion(path: path, version: 5)) }
        XCTAssertThrowsError(try CTranslate2ModelFile(path: "/nonexistent/model.bin")) { e in
            guard case ModelLoadError.cannotOpen = e else { return XCTFail("\(e)") }
        }
    }

    func testRealTinyEnCheckpoint() throws {
        let registry = ModelRegistry()
        let dir: URL
        do { dir = try registry.resolve("whisper-tiny.en", requiredFiles: ["model.bin"]) } catch {
            return XCTFail("\(error) — run Scripts/fetch-models")
        }
        let f = try CTranslate2ModelFile(path: dir.appendingPathComponent("model.bin").path)
        XCTAssertEqual(f.version, 6)
        XCTAssertEqual(try f.variable("decoder/embeddings/weight").shape, [51864, 384])
        XCTAssertEqual(try f.variable("decoder/embeddings/weight").dtype, .float16)
        XCTAssertEqual(try f.integer("encoder/num_heads"), 6)
        XCTAssertEqual(try f.integer("decoder/activation"), 3) // GELU
        XCTAssertEqual(try f.variable("decoder/projection/weight").range, try f.variable("decoder/embeddings/weight").range)
    }

    func testRegistryResolvesNamesAndPaths() throws {
        let root = tmp("models")
        let dir = root + "/whisper-x"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: root) }
        XCTAssertTrue(FileManager.default.createFile(atPath: dir + "/model.bin", contents: Data()))
        let r = ModelRegistry(root: root)
        XCTAssertEqual(try r.resolve("whisper-x", requiredFiles: ["model.bin"]).path, dir)
        XCTAssertEqual(try r.resolve(dir, requiredFiles: ["model.bin"]).path, dir)
        XCTAssertThrowsError(try r.resolve("whisper-x", requiredFiles: ["model.bin", "config.json"])) { e in
            guard case ModelLoadError.invalidModelDirectory(_, let reason) = e else { return XCTFail("\(e)") }
            XCTAssertTrue(reason.contains("config.json"))
        }
        XCTAssertThrowsError(try r.resolve("whisper-missing", requiredFiles: [])) { e in
            guard case ModelLoadError.modelNotFound("whisper-missing", _) = e else { return XCTFail("\(e)") }
        }
        XCTAssertEqual(ModelRegistry(environment: ["SIGHTLINE_MODELS": "/x/y"]).root.path, "/x/y")
        XCTAssertEqual(ModelRegistry(environment: ["HOME": "/home/u"]).root.path, "/home/u/.cache/sightline/models")
    }
}

final class ModelCatalogTests: XCTestCase {
    /// The Swift catalogue and Scripts/fetch-models pin the same files to the same hashes.
    func testPinsMatchFetchScript() throws {
        let script = try String(contentsOfFile: Fixtures.repositoryRoot.appendingPathComponent("Scripts/fetch-models").path, encoding: .utf8)
        var scriptPins: Set<String> = []
        for line in script.split(separator: "\n") {
            let f = line.split(separator: " ")
            if f.count == 3, f[1].count == 64, f[1].allSatisfy(\.isHexDigit) { scriptPins.insert("\(f[0]) \(f[1]) \(f[2])") }
        }
        let swiftPins = Set(ModelCatalog.sources.flatMap { s in s.files.map { "\($0.name) \($0.sha256) \($0.members.joined(separator: "+"))" } })
        XCTAssertEqual(swiftPins.count, ModelCatalog.sources.reduce(0) { $0 + $1.files.count }) // no pin listed twice
        XCTAssertEqual(scriptPins, swiftPins)
        XCTAssertEqual(Set(ModelCatalog.defaultSet), Set(ModelRegistry.known.map(\.name)))
    }

    func testVerifiedModelIsSkippedWithoutNetwork() throws {
        let root = NSTemporaryDirectory() + "sightline-catalog-\(getpid())"
        defer { try? FileManager.default.removeItem(atPath: root) }
        let dir = root + "/silero-vad"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        // Wrong content: the fetch must not accept it as verified (it tries to download,
        // so only the unknown-model path is exercised offline here).
        XCTAssertThrowsError(try ModelCatalog(registry: ModelRegistry(root: root)).fetch(["nope"]) { _ in }) { e in
            XCTAssertTrue("\(e)".contains("unknown model 'nope'"))
        }
        XCTAssertTrue(ModelCatalog(registry: ModelRegistry(root: root)).listing().contains("silero-vad"))
    }
}
