// CLIPBench: times CLIPModel's image or text embeddings, for `Benchmarks/vision_clip.py`.
// Usage: CLIPBench MODEL_DIR images|texts INPUTS.json BATCH THREADS RUNS EMBEDDINGS_OUT.f32
// INPUTS.json is a JSON array of binary PPM (P6) paths (images) or of strings (texts). Each run
// embeds every input in consecutive batches of BATCH on a pool of THREADS threads; image runs
// include CLIP's preprocessing of the decoded pixels (the reference's do too), not the PPM
// reading. Prints one JSON line {"runs_s": [...], "inputs": N, "dim": D}; writes the last run's
// embeddings (inputs, dim) as little-endian f32 for the driver to compare with the reference's.
// Model loading is not timed.
import CLIP
import Foundation
import ImageOps
import Kernels

func readPPM(_ path: String) throws -> RGBImage {
    let data = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
    var fields: [String] = [], i = 0
    func space(_ b: UInt8) -> Bool { b == 0x20 || b == 0x0A || b == 0x0D || b == 0x09 }
    while fields.count < 4 && i < data.count {
        while i < data.count, space(data[i]) { i += 1 }
        var token = ""
        while i < data.count, !space(data[i]) { token.append(Character(Unicode.Scalar(data[i]))); i += 1 }
        fields.append(token)
    }
    guard fields.count == 4, fields[0] == "P6", let w = Int(fields[1]), let h = Int(fields[2]), fields[3] == "255", i < data.count else {
        throw ImageError.invalidSize(width: 0, height: 0)
    }
    return try RGBImage(width: w, height: h, pixels: Array(data[(i + 1)...]))
}

let args = CommandLine.arguments
guard args.count == 8, ["images", "texts"].contains(args[2]), let batch = Int(args[4]), batch > 0,
      let threads = Int(args[5]), threads > 0, let runs = Int(args[6]), runs > 0 else {
    FileHandle.standardError.write(Data("usage: CLIPBench MODEL_DIR images|texts INPUTS.json BATCH THREADS RUNS EMBEDDINGS_OUT.f32\n".utf8))
    exit(2)
}
do {
    try ThreadPool.configureShared(threads: threads)
    let model = try CLIPModel(directory: URL(fileURLWithPath: args[1]))
    let inputs = try JSONDecoder().decode([String].self, from: Data(contentsOf: URL(fileURLWithPath: args[3])))
    let images = args[2] == "images" ? try inputs.map(readPPM) : []
    var times: [Double] = []
    var vectors: [[Float]] = []
    for _ in 0..<runs {
        vectors.removeAll(keepingCapacity: true)
        let start = DispatchTime.now().uptimeNanoseconds
        for i in stride(from: 0, to: inputs.count, by: batch) {
            let end = min(i + batch, inputs.count)
            vectors += args[2] == "images" ? try model.embed(images: Array(images[i..<end])) : model.embed(texts: Array(inputs[i..<end]))
        }
        times.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
    }
    let flat = vectors.flatMap { $0 }
    try flat.withUnsafeBytes { try Data($0).write(to: URL(fileURLWithPath: args[7])) }
    print("{\"runs_s\": \(times), \"inputs\": \(inputs.count), \"dim\": \(model.dimension)}")
} catch {
    FileHandle.standardError.write(Data("CLIPBench: \(error)\n".utf8))
    exit(1)
}
