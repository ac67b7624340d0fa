// LabelsBench: MobileNetV2 image labels for `Benchmarks/vision_labels.py`, and a tensor
// listing of any legacy torch checkpoint.
//   LabelsBench run MODEL_DIR INPUT.f32 THREADS RUNS LOGITS_OUT.f32
//       INPUT.f32: (3, 224, 224) little-endian floats, already transformed (the network's
//       input, the same tensor the reference runtime is fed). Times the network only
//       (weights loaded once, untimed); prints one JSON line {"runs_s": [...]} and writes the
//       last run's logits (1000) + embedding (1280).
//   LabelsBench image MODEL_DIR IMAGE.ppm THREADS RUNS
//       The whole pipeline (Pillow-exact resize, crop, normalise, network) on a binary PPM;
//       prints {"runs_s": [...], "top5": [[index, name, probability], ...]}.
//   LabelsBench inspect FILE.pt
//       Every tensor's name, dtype and shape, in state-dict order, with two checksums of its
//       values (sum, and sum of value × (row-major index mod 7)) to compare with torch.
import Foundation
import ImageLabels
import ImageOps
import Kernels
import ModelIO

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data("LabelsBench: \(message)\n".utf8))
    exit(2)
}

func now() -> Double { Double(DispatchTime.now().uptimeNanoseconds) / 1e9 }

/// A binary PPM (P6, maxval 255).
func readPPM(_ path: String) throws -> RGBImage {
    let data = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
    var fields: [String] = [], i = 0
    while fields.count < 4 && i < data.count {
        while i < data.count, data[i] == 0x20 || data[i] == 0x0A || data[i] == 0x0D || data[i] == 0x09 { i += 1 }
        var token = ""
        while i < data.count, !(data[i] == 0x20 || data[i] == 0x0A || data[i] == 0x0D || data[i] == 0x09) {
            token.append(Character(Unicode.Scalar(data[i]))); i += 1
        }
        fields.append(token)
    }
    guard fields.count == 4, fields[0] == "P6", let w = Int(fields[1]), let h = Int(fields[2]), fields[3] == "255" else {
        fail("\(path) is not a binary 8-bit PPM")
    }
    return try RGBImage(width: w, height: h, pixels: Array(data[(i + 1)...]))
}

let args = Array(CommandLine.arguments.dropFirst())
do {
    switch args.first {
    case "inspect" where args.count == 2:
        let file = try TorchCheckpointFile(path: args[1])
        for name in file.names {
            let values = (try? file.floats(name)) ?? []
            let sum = values.reduce(0.0) { $0 + Double($1) }, weighted = values.enumerated().reduce(0.0) { $0 + Double($1.element) * Double($1.offset % 7) }
            print(name, file.dtype(of: name)!.rawValue, file.shape(of: name)!, String(format: "sum %.6g weighted %.6g", sum, weighted))
        }
        print("\(file.names.count) tensors")
    case "run" where args.count == 6:
        guard let threads = Int(args[3]), let runs = Int(args[4]), runs > 0 else { fail("bad THREADS or RUNS") }
        let pool = ThreadPool(threads: threads)
        let classifier = try ImageClassifier(directory: args[1])
        let data = try Data(contentsOf: URL(fileURLWithPath: args[2]))
        let input = data.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) } // (3, 224, 224)
        var times: [Double] = []
        var result: ImageAnalysis?
        for _ in 0..<runs {
            let t0 = now()
            result = try classifier.analyse(normalized: input, count: 1, pool: pool)[0]
            times.append(now() - t0)
        }
        let out = result!.logits + result!.embedding
        try out.withUnsafeBytes { try Data($0).write(to: URL(fileURLWithPath: args[5])) }
        print("{\"runs_s\": \(times)}")
    case "image" where args.count == 5:
        guard let threads = Int(args[3]), let runs = Int(args[4]), runs > 0 else { fail("bad THREADS or RUNS") }
        let pool = ThreadPool(threads: threads)
        let classifier = try ImageClassifier(directory: args[1])
        let image = try readPPM(args[2])
        var times: [Double] = []
        var labels: [Label] = []
        for _ in 0..<runs {
            let t0 = now()
            labels = try classifier.classify(image, topK: 5, pool: pool)
            times.append(now() - t0)
        }
        let top = labels.map { "[\($0.index), \"\($0.name)\", \($0.probability)]" }.joined(separator: ", ")
        print("{\"runs_s\": \(times), \"top5\": [\(top)]}")
    default:
        fail("usage: LabelsBench run MODEL_DIR INPUT.f32 THREADS RUNS OUT.f32 | image MODEL_DIR IMAGE.ppm THREADS RUNS | inspect FILE.pt")
    }
} catch {
    FileHandle.standardError.write(Data("LabelsBench: \(error)\n".utf8))
    exit(1)
}
