// FacesBench: times MTCNN face detection on PPM pictures, for `Benchmarks/vision_faces.py`.
// Usage: FacesBench MODEL_DIR RUNS THREADS PICTURE.ppm...
// Prints one JSON line {"threads": T, "pictures": [{"file", "runs_s": [...], "faces": [...]}]}
// with the faces of the last run, so the driver can check they equal the reference's. Model
// loading and PPM decoding are not timed (the driver does not time session creation either).
import FaceDetector
import Foundation
import ImageOps
import Kernels

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data("FacesBench: \(message)\n".utf8))
    exit(1)
}

/// A binary PPM (P6, maxval 255).
func readPPM(_ path: String) throws -> RGBImage {
    guard let data = FileManager.default.contents(atPath: path) else { fail("cannot read \(path)") }
    let bytes = [UInt8](data)
    func isSpace(_ b: UInt8) -> Bool { b == 0x20 || b == 0x0A || b == 0x0D || b == 0x09 }
    var fields: [String] = [], pos = 0
    while fields.count < 4 && pos < bytes.count {
        while pos < bytes.count, isSpace(bytes[pos]) { pos += 1 }
        let start = pos
        while pos < bytes.count, !isSpace(bytes[pos]) { pos += 1 }
        fields.append(String(decoding: bytes[start..<pos], as: UTF8.self))
    }
    guard fields.count == 4, fields[0] == "P6", fields[3] == "255", let w = Int(fields[1]), let h = Int(fields[2]),
          pos < bytes.count else { fail("\(path) is not a binary 8-bit PPM") }
    return try RGBImage(width: w, height: h, pixels: Array(bytes[(pos + 1)...]))
}

let args = CommandLine.arguments
guard args.count >= 5, let runs = Int(args[2]), runs > 0, let threads = Int(args[3]), threads > 0 else {
    fail("usage: FacesBench MODEL_DIR RUNS THREADS PICTURE.ppm...")
}
do {
    let pool = ThreadPool(threads: threads)
    let detector = try FaceDetector(directory: URL(fileURLWithPath: args[1]), pool: pool)
    var pictures: [String] = []
    for path in args[4...] {
        let image = try readPPM(path)
        var times: [Double] = []
        var faces: [Face] = []
        for _ in 0..<runs {
            let start = DispatchTime.now().uptimeNanoseconds
            faces = try detector.detect(image)
            times.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
        }
        let list = faces.map { f in
            "{\"box\": [\(f.box.x0), \(f.box.y0), \(f.box.x1), \(f.box.y1)], \"probability\": \(f.score), \"landmarks\": ["
                + f.landmarks.map { "[\($0.x), \($0.y)]" }.joined(separator: ", ") + "]}"
        }
        pictures.append("{\"file\": \"\(path)\", \"runs_s\": \(times), \"faces\": [\(list.joined(separator: ", "))]}")
    }
    print("{\"threads\": \(threads), \"pictures\": [\(pictures.joined(separator: ", "))]}")
} catch {
    fail("\(error)")
}
