// A CTranslate2 Whisper model.bin whose tensors have the wrong rank must give an error that
// names the tensor, never a trap: a model directory with a broken or foreign model.bin is
// something users will point --model at.
import Foundation
import ModelIO
import Whisper
import XCTest

final class MalformedCheckpointTests: XCTestCase {
    /// A CTranslate2 model.bin (version 6, WhisperSpec) holding float32 `variables`.
    private func modelBin(_ variables: [(name: String, shape: [UInt32])]) -> Data {
        var d = Data()
        func u32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { d.append(contentsOf: $0) } }
        func u16(_ v: UInt16) { withUnsafeBytes(of: v.littleEndian) { d.append(contentsOf: $0) } }
        func str(_ s: String) { u16(UInt16(s.utf8.count + 1)); d.append(contentsOf: Array(s.utf8) + [0]) }
        u32(6); str("WhisperSpec"); u32(3); u32(UInt32(variables.count))
        for v in variables {
            str(v.name); d.append(UInt8(v.shape.count))
            for n in v.shape { u32(n) }
            let count = v.shape.reduce(1, *)
            d.append(0) // float32
            u32(count * 4)
            for i in 0..<count { withUnsafeBytes(of: Float(i).bitPattern.littleEndian) { d.append(contentsOf: $0) } }
        }
        u32(0) // no aliases
        return d
    }

    private func loadError(_ variables: [(name: String, shape: [UInt32])]) throws -> Error? {
        let dir = URL(fileURLWithPath: NSTemporaryDirectory() + "sightline-bad-whisper-\(getpid())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        try Data("{}".utf8).write(to: dir.appendingPathComponent("config.json"))
        try modelBin(variables).write(to: dir.appendingPathComponent("model.bin"))
        do { _ = try WhisperModel(directory: dir) } catch { return error }
        return nil
    }

    func testWrongRankTensorsAreNamedErrors() throws {
        let embeddings = (name: "decoder/embeddings/weight", shape: [UInt32(8), 4])
        // conv1 as a vector: its mel-channel axis (1) does not exist.
        let vectorConv = try loadError([embeddings, ("encoder/conv1/weight", [4])])
        guard case .model(.unexpectedShape(_, "encoder/conv1/weight", _, [4]))? = vectorConv as? WhisperError else {
            return XCTFail("expected an unexpectedShape error for encoder/conv1/weight, got \(String(describing: vectorConv))")
        }
        XCTAssertTrue("\(vectorConv!)".contains("encoder/conv1/weight"), "\(vectorConv!)")
        // Embeddings as a vector: no (vocab, d).
        let vectorEmbeddings = try loadError([("decoder/embeddings/weight", [32])])
        guard case .model(.unexpectedShape(_, "decoder/embeddings/weight", _, [32]))? = vectorEmbeddings as? WhisperError else {
            return XCTFail("expected an unexpectedShape error for the embeddings, got \(String(describing: vectorEmbeddings))")
        }
        // A missing tensor is named too.
        let missing = try loadError([embeddings])
        guard case .model(.missingTensor(_, "encoder/conv1/weight"))? = missing as? WhisperError else {
            return XCTFail("expected a missingTensor error for encoder/conv1/weight, got \(String(describing: missing))")
        }
    }
}
