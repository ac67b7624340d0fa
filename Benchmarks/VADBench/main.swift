// VADBench: times Silero VAD over a raw little-endian f32 file of 16 kHz mono samples, for
// `Benchmarks/vad.py`. Usage: VADBench MODELS_DIR SAMPLES.f32 RUNS PROBS_OUT.f32
// Prints one JSON line {"runs_s": [...], "chunks": N}; writes the last run's probabilities so
// the driver can check they equal the reference's. Weight loading is not timed (the driver
// does not time session creation either); each run resets the state and processes the file.
import Foundation
import VAD

let args = CommandLine.arguments
guard args.count == 5, let runs = Int(args[3]), runs > 0 else {
    FileHandle.standardError.write(Data("usage: VADBench MODELS_DIR SAMPLES.f32 RUNS PROBS_OUT.f32\n".utf8))
    exit(2)
}
do {
    let weights = try SileroVADWeights(modelsDirectory: args[1])
    let data = try Data(contentsOf: URL(fileURLWithPath: args[2]))
    let samples = data.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }  // (n) little-endian host
    let vad = SileroVAD(weights: weights)
    var times: [Double] = []
    var probabilities: [Float] = []
    for _ in 0..<runs {
        let start = DispatchTime.now().uptimeNanoseconds
        probabilities = vad.probabilities(of: samples)
        times.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
    }
    try probabilities.withUnsafeBytes { try Data($0).write(to: URL(fileURLWithPath: args[4])) }
    print("{\"runs_s\": \(times), \"chunks\": \(probabilities.count)}")
} catch {
    FileHandle.standardError.write(Data("VADBench: \(error)\n".utf8))
    exit(1)
}
