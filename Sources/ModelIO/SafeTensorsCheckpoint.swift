// The weights of a Hugging Face checkpoint directory: one `model.safetensors`, or the shards
// that `model.safetensors.index.json` lists ({"weight_map": {"<tensor>": "<shard file>"}}),
// as large checkpoints are saved. Either way the loader sees one TensorFile.
import Foundation
import Kernels

public final class SafeTensorsCheckpoint: TensorFile, @unchecked Sendable { // immutable after init
    public static let singleFile = "model.safetensors"
    public static let indexFile = "model.safetensors.index.json"

    /// The directory.
    public let path: String
    private let shards: [SafeTensorsFile]
    private let shardOf: [String: Int] // tensor name → index into shards

    /// Whether `directory` holds a safetensors checkpoint in either form.
    public static func exists(in directory: URL) -> Bool {
        [singleFile, indexFile].contains { FileManager.default.fileExists(atPath: directory.appendingPathComponent($0).path) }
    }

    public init(directory: URL) throws(ModelLoadError) {
        path = directory.path
        let single = directory.appendingPathComponent(Self.singleFile)
        if FileManager.default.fileExists(atPath: single.path) {
            let file = try SafeTensorsFile(path: single.path)
            shards = [file]
            shardOf = file.tensors.mapValues { _ in 0 }
            return
        }
        let indexPath = directory.appendingPathComponent(Self.indexFile).path
        func malformed(_ reason: String) -> ModelLoadError { .malformed(path: indexPath, format: "safetensors index", reason: reason) }
        guard let data = FileManager.default.contents(atPath: indexPath) else {
            throw .invalidModelDirectory(path: path, reason: "it has neither \(Self.singleFile) nor \(Self.indexFile)")
        }
        guard let json = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
              let map = json["weight_map"] as? [String: String] else {
            throw malformed("no \"weight_map\" object of tensor name → shard file")
        }
        var files: [SafeTensorsFile] = []
        var indexOfFile: [String: Int] = [:]
        var owner: [String: Int] = [:]
        for (tensor, shard) in map.sorted(by: { $0.key < $1.key }) {
            guard !shard.contains("/") else { throw malformed("shard \"\(shard)\" is not a file name in the checkpoint directory") }
            if indexOfFile[shard] == nil {
                indexOfFile[shard] = files.count
                files.append(try SafeTensorsFile(path: directory.appendingPathComponent(shard).path))
            }
            let i = indexOfFile[shard]!
            guard files[i].tensors[tensor] != nil else {
                throw malformed("\(shard) does not hold \"\(tensor)\", which the index places there")
            }
            owner[tensor] = i
        }
        shards = files
        shardOf = owner
    }

    public func shape(of name: String) -> [Int]? {
        shardOf[name].flatMap { shards[$0].shape(of: name) }
    }

    public func weight(_ name: String, shape: [Int]? = nil) throws(ModelLoadError) -> WeightTensor {
        guard let i = shardOf[name] else { throw .missingTensor(path: path, name: name) }
        return try shards[i].weight(name, shape: shape)
    }
}
