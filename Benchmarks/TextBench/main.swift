// TextBench: times TextEmbedder over a JSON array of strings, for `Benchmarks/vision_text.py`.
// Usage: TextBench MODEL_DIR TEXTS.json BATCH THREADS RUNS EMBEDDINGS_OUT.f32
// Each run embeds all texts in consecutive batches of BATCH (the last may be shorter) on a
// pool of THREADS threads. Prints one JSON line {"runs_s": [...], "texts": N, "dim": D}; writes
// the last run's embeddings (texts, dim) as little-endian f32 so the driver can compare them
// with the reference's. Model loading is not timed (the driver does not time it either).
import Foundation
import Kernels
import TextEmbedder

let args = CommandLine.arguments
guard args.count == 7, let batch = Int(args[3]), batch > 0, let threads = Int(args[4]), threads > 0,
      let runs = Int(args[5]), runs > 0 else {
    FileHandle.standardError.write(Data("usage: TextBench MODEL_DIR TEXTS.json BATCH THREADS RUNS EMBEDDINGS_OUT.f32\n".utf8))
    exit(2)
}
do {
    try ThreadPool.configureShared(threads: threads)
    let embedder = try TextEmbedder(directory: URL(fileURLWithPath: args[1]))
    let texts = try JSONDecoder().decode([String].self, from: Data(contentsOf: URL(fileURLWithPath: args[2])))
    var times: [Double] = []
    var vectors: [[Float]] = []
    for _ in 0..<runs {
        vectors.removeAll(keepingCapacity: true)
        let start = DispatchTime.now().uptimeNanoseconds
        var i = 0
        while i < texts.count {
            vectors += embedder.embed(Array(texts[i..<min(i + batch, texts.count)]))
            i += batch
        }
        times.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
    }
    let flat = vectors.flatMap { $0 }
    try flat.withUnsafeBytes { try Data($0).write(to: URL(fileURLWithPath: args[6])) }
    print("{\"runs_s\": \(times), \"texts\": \(texts.count), \"dim\": \(embedder.dimension)}")
} catch {
    FileHandle.standardError.write(Data("TextBench: \(error)\n".utf8))
    exit(1)
}
