// OCRBench: runs the PP-OCRv5 TextReader on PPM / PGM pictures, for `Benchmarks/vision_ocr.py`.
// Usage: OCRBench MODELS_DIR THREADS RUNS PICTURE...
// Prints one JSON line per picture: {"image", "runs_s": [...], "lines": [{"text", "score",
// "quad"}]} so the driver can time it and check the lines equal the reference's. Loading
// the networks is not timed (the driver does not time session creation either).
import Foundation
import ImageOps
import Kernels
import OCR

/// A binary PPM (P6) or PGM (P5, expanded to grey RGB) with maxval 255.
func readPNM(_ path: String) throws -> RGBImage {
    let data = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
    var fields: [String] = [], i = 0
    while fields.count < 4 && i < data.count {
        while i < data.count, data[i] == 0x20 || data[i] == 0x0A || data[i] == 0x0D || data[i] == 0x09 { i += 1 }
        var f = ""
        while i < data.count, !(data[i] == 0x20 || data[i] == 0x0A || data[i] == 0x0D || data[i] == 0x09) { f.append(Character(UnicodeScalar(data[i]))); i += 1 }
        fields.append(f)
    }
    i += 1
    guard fields.count == 4, let w = Int(fields[1]), let h = Int(fields[2]), fields[3] == "255" else {
        throw NSError(domain: "OCRBench", code: 1, userInfo: [NSLocalizedDescriptionKey: "\(path): not a binary PPM/PGM"])
    }
    let body = Array(data[i...])
    if fields[0] == "P6" { return try RGBImage(width: w, height: h, pixels: body) }
    guard fields[0] == "P5" else { throw NSError(domain: "OCRBench", code: 1, userInfo: [NSLocalizedDescriptionKey: "\(path): not P5/P6"]) }
    return try RGBImage(width: w, height: h, pixels: body.flatMap { [$0, $0, $0] })
}

let args = CommandLine.arguments
guard args.count >= 5, let threads = Int(args[2]), let runs = Int(args[3]), threads > 0, runs > 0 else {
    FileHandle.standardError.write(Data("usage: OCRBench MODELS_DIR THREADS RUNS PICTURE...\n".utf8))
    exit(2)
}
do {
    let reader = try TextReader(directory: args[1], pool: ThreadPool(threads: threads))
    for path in args[4...] {
        let image = try readPNM(path)
        var times: [Double] = []
        var lines: [TextLine] = []
        _ = try reader.read(image) // warm-up
        for _ in 0..<runs {
            let start = DispatchTime.now().uptimeNanoseconds
            lines = try reader.read(image)
            times.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
        }
        let json: [String: Any] = [
            "image": URL(fileURLWithPath: path).lastPathComponent, "threads": threads, "runs_s": times,
            "lines": lines.map { ["text": $0.text, "score": $0.score, "quad": $0.quad.map { [Int($0.x), Int($0.y)] }] as [String: Any] },
        ]
        let out = try JSONSerialization.data(withJSONObject: json, options: [.sortedKeys])
        print(String(decoding: out, as: UTF8.self))
    }
} catch {
    FileHandle.standardError.write(Data("OCRBench: \(error)\n".utf8))
    exit(1)
}
