// PersonBench: times the person detector on raw RGB frames, for `Benchmarks/vision_person.py`.
// Usage: PersonBench MODEL.pb FRAMES.json RUNS THREADS OUT.json
// FRAMES.json lists {"path": raw RGB file, "width": W, "height": H}. Each run goes over every
// frame twice: the network part (pre-processing + network: `rawOutputs`) and the whole
// detector (`detect`, with decoding and NMS). Model loading is not timed (the driver does not
// time session creation either). OUT.json gets the first frame's raw outputs and every
// frame's detections, so the driver can check both sides computed the same thing. Prints one
// JSON line {"network_s": [per-run seconds], "detect_s": [...], "frames": N}.
import Foundation
import ImageOps
import Kernels
import PersonDetector

struct Frame: Decodable { let path: String; let width: Int; let height: Int }

let args = CommandLine.arguments
guard args.count == 6, let runs = Int(args[3]), runs > 0, let threads = Int(args[4]), threads > 0 else {
    FileHandle.standardError.write(Data("usage: PersonBench MODEL.pb FRAMES.json RUNS THREADS OUT.json\n".utf8))
    exit(2)
}
do {
    let list = try JSONDecoder().decode([Frame].self, from: Data(contentsOf: URL(fileURLWithPath: args[2])))
    let pictures = try list.map { f in
        try RGBImage(width: f.width, height: f.height, pixels: [UInt8](Data(contentsOf: URL(fileURLWithPath: f.path))))
    }
    let detector = try PersonDetector(modelFile: args[1], pool: ThreadPool(threads: threads))
    _ = try detector.detect(pictures[0]) // warm-up: first-touch of scratch and weights
    var network: [Double] = [], whole: [Double] = []
    var detections: [[PersonDetection]] = []
    for _ in 0..<runs {
        var t0 = DispatchTime.now().uptimeNanoseconds
        for p in pictures { _ = try detector.rawOutputs(p) }
        network.append(Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9)
        t0 = DispatchTime.now().uptimeNanoseconds
        detections = try pictures.map { try detector.detect($0, scoreThreshold: 0.3) }
        whole.append(Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9)
    }
    let raw = try detector.rawOutputs(pictures[0])
    let out: [String: Any] = [
        "box_encodings": raw.boxEncodings.map(Double.init), "class_logits": raw.classLogits.map(Double.init),
        "detections": detections.map { $0.map { ["box": [$0.box.x0, $0.box.y0, $0.box.x1, $0.box.y1].map(Double.init),
                                                 "score": Double($0.score)] } },
    ]
    try JSONSerialization.data(withJSONObject: out).write(to: URL(fileURLWithPath: args[5]))
    print("{\"network_s\": \(network), \"detect_s\": \(whole), \"frames\": \(pictures.count)}")
} catch {
    FileHandle.standardError.write(Data("PersonBench: \(error)\n".utf8))
    exit(1)
}
